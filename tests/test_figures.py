"""The figures table: rows recorded by tests reach the run's summary, from xdist workers too."""

import pytest

from tests.figures import format_table
from tests.worker import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

RECORDING_TESTS = """
import pytest

@pytest.mark.parametrize("n", [1, 2, 3])
def test_records(figures, n):
    figures("Fault figures", scenario=f"s{n}", delivered=n * 10)
"""


def test_format_table_aligns_columns_and_keeps_first_seen_order():
    lines = format_table([{"a": 1, "bb": "x"}, {"a": 22, "c": "y"}])
    assert lines[0].split() == ["a", "bb", "c"]
    assert lines[2].split() == ["1", "x"]
    assert lines[3].split() == ["22", "y"]
    assert len({len(line.rstrip()) <= len(lines[1]) for line in lines}) == 1


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_rows_reach_the_summary(pytester, monkeypatch, workers):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_recording=RECORDING_TESTS)
    pytester.makeconftest('pytest_plugins = ["tests.figures"]')
    result = pytester.runpytest_subprocess("-p", "no:django", "-p", "no:cacheprovider", *workers)
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    assert "Fault figures" in out
    rows = [line.split() for line in out.splitlines() if line[:1] == "s" and not line.startswith("scenario")]
    assert sorted(rows) == [["s1", "10"], ["s2", "20"], ["s3", "30"]]
