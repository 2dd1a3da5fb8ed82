"""The processes under test: gunicorn (the portal), a Celery worker, gunicorn (the HubSpot
sandbox). Each runs in its own process group and is stopped with it, on success, failure or
Ctrl-C (SIGTERM, then SIGKILL after a grace period). Logs go to var/bench/logs/."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.env import BASE_DIR, HOST, VAR

BIN = Path(sys.executable).parent
# The environment this process started with: children get it plus their own settings, never the
# orchestrator's (which would hand the sandbox the portal's broker, for one).
BASE_ENVIRON = dict(os.environ)
LOGS = VAR / "logs"
CORES = os.cpu_count() or 1
# Web workers: 2 per core (requests wait on PostgreSQL and Redis), 2 threads each, like the
# production profile's default; the worker pool is sized for I/O (callbacks, HubSpot calls).
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", 2 * CORES))
WEB_THREADS = int(os.environ.get("BENCH_WEB_THREADS", 2))
CELERY_CONCURRENCY = int(os.environ.get("BENCH_CELERY_CONCURRENCY", 2 * CORES))


@dataclass
class Processes:
    started: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = open(LOGS / f"{name}.log", "wb")  # noqa: SIM115 - owned by the child's lifetime
        full_env = {**BASE_ENVIRON, **env}
        proc = subprocess.Popen(  # noqa: S603 - argv built here from our own venv's binaries
            argv, cwd=BASE_DIR, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append((name, proc))
        return proc

    def check_alive(self) -> None:
        for name, proc in self.started:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {LOGS / (name + '.log')}")

    def cpu_seconds(self, *names: str) -> float:
        """User + system CPU the named processes' groups have used so far: every live process of
        each group (gunicorn's and Celery's children included) plus what their exited children
        used. Linux only (/proc); 0 elsewhere."""
        groups = {proc.pid for name, proc in self.started if name in names}
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # exited meanwhile
                continue
            # After "(comm)": state ppid pgrp session … utime(12) stime(13) cutime(14) cstime(15)
            if int(fields[2]) in groups:
                total += sum(int(v) for v in fields[11:15])
        return total / tick

    def stop(self) -> None:
        """SIGTERM each process we started (gunicorn's and Celery's masters stop their own children
        cleanly), then SIGKILL whatever is left in its process group after 10 s."""
        for _name, proc in reversed(self.started):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _name, proc in reversed(self.started):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group is the child's own (start_new_session)
            proc.wait(timeout=5)
        self.started.clear()


def gunicorn_argv(port: int, *, workers: int, threads: int) -> list[str]:
    argv = [str(BIN / "gunicorn"), "hitl_portal.wsgi:application", "--bind", f"{HOST}:{port}"]
    if (BASE_DIR / "gunicorn.conf.py").exists():
        # The production profile's own gunicorn settings (worker class, timeouts, keep-alive);
        # the bench sets only the bind address and the worker count.
        return [*argv, "--config", str(BASE_DIR / "gunicorn.conf.py"), "--workers", str(workers)]
    return [
        *argv,
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--backlog",
        "2048",
    ]


def start_portal(procs: Processes, port: int, env: dict[str, str]) -> None:
    procs.start("portal", gunicorn_argv(port, workers=WEB_WORKERS, threads=WEB_THREADS), env)


def start_sandbox(procs: Processes, port: int, env: dict[str, str]) -> None:
    procs.start("sandbox", gunicorn_argv(port, workers=2, threads=4), env)


def start_worker(procs: Processes, env: dict[str, str]) -> None:
    argv = [
        str(BIN / "celery"),
        "-A",
        "hitl_portal",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        str(CELERY_CONCURRENCY),
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "WARNING",
        "-n",
        f"bench-{os.getpid()}@%h",
    ]
    procs.start("worker", argv, env)


def wait_http(procs: Processes, url: str, timeout: float = 60) -> None:
    """Until `url` answers anything below 500 (the server is up and Django loaded)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        procs.check_alive()
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up in {timeout} s ({last})")


def wait_quiet(procs: Processes, name: str, *, below: float = 0.05, timeout: float = 30) -> float:
    """Until the named process group uses less than `below` of a core over a second (its workers
    have finished booting), or `timeout`; returns the seconds waited. `wait_http` returns once one
    web worker answers, while the others may still be importing Django: their boot CPU (a second
    or more each) would be counted in the first scenario's CPU per request."""
    start = time.monotonic()
    last = procs.cpu_seconds(name)
    while time.monotonic() - start < timeout:
        time.sleep(1.0)
        now = procs.cpu_seconds(name)
        if now - last < below:
            break
        last = now
    return time.monotonic() - start


def wait_worker(procs: Processes, app, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs.check_alive()
        if app.control.ping(timeout=1.0):
            return
    raise RuntimeError(f"the Celery worker did not answer a ping in {timeout} s")


def booted_workers(name: str) -> int:
    """How many web workers gunicorn booted (from its log), whatever config chose the number."""
    path = LOGS / f"{name}.log"
    return path.read_text(errors="replace").count("Booting worker") if path.exists() else 0
