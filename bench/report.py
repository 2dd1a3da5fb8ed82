"""The one table `make bench` prints: figure, value, target, pass/miss, with the machine noted."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

from bench.load import Result, percentile


@dataclass
class Row:
    scenario: str
    figure: str
    value: str
    target: str = ""
    passed: bool | None = None  # None: no target (or not measured)
    note: str = ""


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


def p(result: Result, q: float) -> float | None:
    return percentile(result.latencies, q)


def under(seconds: float | None, limit_ms: float) -> bool | None:
    return None if seconds is None else seconds * 1000 < limit_ms


def failures(result: Result) -> str:
    bad = {k: v for k, v in result.statuses.items() if not 200 <= k < 300}
    parts = [f"{v}x HTTP {k}" for k, v in sorted(bad.items())] + [
        f"{v}x {k}" for k, v in result.errors.items()
    ]
    return ("; " + ", ".join(parts)) if parts else ""


def machine(versions: dict[str, str]) -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = re.search(r"MemTotal:\s*(\d+) kB", meminfo)
    ram = f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "?"
    return [
        f"Machine: {os.cpu_count()} cores ({model.group(1).strip() if model else platform.processor()}), "
        f"{ram} RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}",
        "Services: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
    ]


def render(rows: list[Row], header: list[str]) -> str:
    table = [("Scenario", "Figure", "Value", "Target", "Result")]
    for row in rows:
        verdict = "" if row.passed is None else ("pass" if row.passed else "MISS")
        value = row.value + (f" ({row.note})" if row.note else "")
        table.append((row.scenario, row.figure, value, row.target, verdict))
    widths = [max(len(r[i]) for r in table) for i in range(5)]
    line = "+".join("-" * (w + 2) for w in widths)
    out = [*header, "", "+" + line + "+"]
    for n, r in enumerate(table):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if n == 0:
            out.append("+" + line + "+")
    out.append("+" + line + "+")
    return "\n".join(out)
