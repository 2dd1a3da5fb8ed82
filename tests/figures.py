"""Figures that tests measure (fault counts, timings), printed in the test run's summary.

A test records one row per table with the `figures` fixture: `figures("Fault tests", scenario="x",
delivered=10)`. Rows travel on the test report (`user_properties`), so they reach the summary
from pytest-xdist worker processes too, where a module-level list would stay behind in the worker.
"""

from __future__ import annotations

import pytest

KEY = "figures"


@pytest.fixture
def figures(request):
    def record(table: str, **row) -> None:
        request.node.user_properties.append((KEY, (table, row)))

    return record


def _rows(terminalreporter) -> dict[str, list[dict]]:
    tables: dict[str, list[dict]] = {}
    seen = set()
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name != KEY or (report.nodeid, repr(value)) in seen:
                    continue
                seen.add((report.nodeid, repr(value)))
                table, row = value
                tables.setdefault(table, []).append(row)
    return tables


def format_table(rows: list[dict]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return out


def pytest_terminal_summary(terminalreporter):
    for table, rows in sorted(_rows(terminalreporter).items()):
        terminalreporter.section(table)
        for line in format_table(rows):
            terminalreporter.write_line(line)
