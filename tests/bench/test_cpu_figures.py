"""The CPU figures `make bench` prints are the bench's own process groups' CPU, children included:
a process that burns CPU in a child is counted, one outside the groups is not."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.servers import Processes

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

# A parent that starts a child burning ~0.4 s of CPU, then waits for it: the child's time is in the
# group while it runs and in the parent's children's time once reaped.
BURN = (
    "import subprocess, sys, time; "
    "subprocess.run([sys.executable, '-c', 'import time\\nt = time.process_time()\\n"
    "while time.process_time() - t < 0.4: pass']); time.sleep(30)"
)


def test_cpu_seconds_counts_the_group_and_its_children_only():
    procs = Processes()
    procs.start("burner", [sys.executable, "-c", BURN], {})
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    procs.started.append(("idle", idle))
    try:
        deadline = time.monotonic() + 20
        while procs.cpu_seconds("burner") < 0.4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert procs.cpu_seconds("burner") >= 0.4
        assert procs.cpu_seconds("idle") < 0.3  # an interpreter's start-up, nothing burnt
        assert procs.cpu_seconds("nobody") == 0
    finally:
        procs.stop()


def test_wait_quiet_returns_once_the_group_stops_burning_cpu():
    """The first scenario's CPU per request must not include web workers still booting."""
    from bench.servers import wait_quiet

    procs = Processes()
    # burns ~2 s of CPU, then sleeps: like gunicorn workers importing Django, then idle
    procs.start(
        "booting",
        [
            sys.executable,
            "-c",
            "import time\nt = time.process_time()\nwhile time.process_time() - t < 2: pass\ntime.sleep(30)",
        ],
        {},
    )
    try:
        waited = wait_quiet(procs, "booting", timeout=20)
        burnt = procs.cpu_seconds("booting")
        assert 2 <= waited < 20
        # /proc truncates utime and stime to clock ticks apiece: up to two ticks short of 2 s
        assert burnt >= 2 - 2 / os.sysconf("SC_CLK_TCK")
        time.sleep(1)
        assert procs.cpu_seconds("booting") - burnt < 0.05  # quiet from then on
    finally:
        procs.stop()
