"""Which encryption keys the running processes hold, before `rotate_encryption_keys` re-encrypts.

Re-encrypting under a key some process does not hold yet makes every secret it reads fail (a JSON
503, core/errors.py) until it is restarted. So the command first asks:

- web processes, through `/readyz` (each answer names its pid and its key fingerprints, never the
  keys); each URL is asked a few times to reach several of a gunicorn's workers;
- Celery workers, through a broadcast control command (`hitl_key_fingerprints`) every live worker
  answers, wherever it runs.

A process is ready when the newest key of the command's own list is the newest of its list too:
it then decrypts values under the new key and already writes new values with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
from celery.worker.control import inspect_command
from django.conf import settings

from core.crypto import fingerprints
from core.logging import redact

ASKS_PER_URL = 4


@inspect_command()
def hitl_key_fingerprints(state) -> dict:
    """Celery remote control: this worker's key fingerprints (registered when the app loads)."""
    return {"encryption_keys": fingerprints()}


@dataclass
class Report:
    newest: str
    ready: list[str] = field(default_factory=list)
    not_ready: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.ready) and not self.not_ready and not self.unreachable


def _judge(report: Report, name: str, keys: list[str]) -> None:
    if keys[:1] == [report.newest]:
        report.ready.append(name)
    else:
        report.not_ready.append(f"{name} holds {', '.join(keys) or 'no keys'}")


def check_processes(urls: list[str], *, workers: bool = True, timeout: float = 5.0) -> Report:
    report = Report(newest=fingerprints()[0])
    for url in urls:
        seen: dict[int, list[str]] = {}
        for _ in range(ASKS_PER_URL):
            try:
                body = requests.get(url, timeout=timeout, headers={"Cache-Control": "no-cache"}).json()
                seen[body["pid"]] = body["encryption_keys"]
            except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
                report.unreachable.append(f"{url}: {redact(str(exc))[:200]}")
                break
        for pid, keys in seen.items():
            _judge(report, f"{url} (pid {pid})", keys)
    if workers:
        from hitl_portal.celery import app

        if not app.conf.task_always_eager:
            try:
                replies = app.control.broadcast("hitl_key_fingerprints", reply=True, timeout=timeout) or []
            except Exception as exc:  # the broker down: the workers cannot be asked
                report.unreachable.append(f"Celery workers (broker): {redact(str(exc))[:200]}")
                replies = []
            for reply in replies:
                for hostname, answer in reply.items():
                    keys = answer.get("encryption_keys") if isinstance(answer, dict) else None
                    if keys is None:
                        report.not_ready.append(f"worker {hostname} runs code without the key check")
                    else:
                        _judge(report, f"worker {hostname}", keys)
    return report


def default_urls() -> list[str]:
    return [f"{settings.PUBLIC_BASE_URL}/readyz"]
