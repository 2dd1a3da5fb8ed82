"""The repository stands alone: no file points a maintainer at notes kept outside it (the team's
style guide, its survey of earlier integrations, the reference folder beside the checkout). What a
maintainer needs from them is written in docs/ in this repository's own words."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"\bSTYLE(\.md\b| pattern| §)|PRIOR_ART|\.\./shared\b")
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()


def tracked_text_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name and name != THIS_FILE]


def test_no_file_refers_to_notes_outside_the_repository():
    found = []
    for name in tracked_text_files():
        path = ROOT / name
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary files, and paths deleted but not yet committed
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert found == []
