"""gunicorn as a test server: the production web server, with the project's gunicorn.conf.py.

`running_gunicorn(env)` starts it on a free port and waits for /healthz; `raw_request` speaks
HTTP/1.1 over a plain socket, for what `requests` will not send (chunked bodies, a Content-Length
that lies, a body cut short).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
# Never inherited by a server a test starts: the test decides its whole configuration.
_OWN = {"DJANGO_SETTINGS_MODULE", "DJANGO_ENV", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    popen: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_gunicorn(
    env: dict, log_dir: Path, *, port: int | None = None, workers: int = 2, timeout: float = 20
):
    port = port or free_port()
    full_env = {k: v for k, v in os.environ.items() if k not in _OWN}
    full_env.update({"WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": "2", **env})
    full_env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    log_path = log_dir / f"gunicorn-{port}.log"
    with open(log_path, "w") as log:
        popen = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", port, popen, log_path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if popen.poll() is not None:
                raise AssertionError(f"gunicorn exited ({popen.returncode}):\n{server.log()}")
            try:
                if requests.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass  # not listening yet, or a worker still booting
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not answer /healthz within {timeout} s:\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            popen.kill()


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
    *,
    chunked: bool = False,
    content_length: int | None = None,
    half_close: bool = False,
    timeout: float = 10,
) -> RawResponse:
    """One request on its own connection. `content_length` overrides the true length (a lie);
    `half_close` ends the sending side after the body, as a client that gave up would."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        step = 1024
        payload = b"".join(
            f"{len(body[i : i + step]):x}\r\n".encode() + body[i : i + step] + b"\r\n"
            for i in range(0, len(body), step)
        )
        payload += b"0\r\n\r\n"
    else:
        lines.append(f"Content-Length: {len(body) if content_length is None else content_length}")
        payload = body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall("\r\n".join(lines).encode() + b"\r\n\r\n" + payload)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking everything: read its answer
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass  # closed with our unread bytes still queued: what arrived before stands
    head, _, rest = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = dict(line.split(": ", 1) for line in header_lines if ": " in line)
    parsed = {k.lower(): v for k, v in parsed.items()}
    return RawResponse(int(status_line.split()[1]), parsed, _dechunk(rest, parsed))


def _dechunk(body: bytes, headers: dict[str, str]) -> bytes:
    if "chunked" not in headers.get("transfer-encoding", ""):
        return body
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, body = out + body[:size], body[size + 2 :]
    return out
