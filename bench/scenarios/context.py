"""What every scenario gets: where the portal listens, how to sign, who the bot is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bench.hubspot import Signer
from bench.receiver import Receiver


@dataclass
class Context:
    port: int  # the portal's gunicorn
    public_base_url: str
    signer: Signer
    provisioned: dict  # provision_connection --sandbox --json
    receiver: Receiver
    celery_app: object
    run_id: str
    cookies: dict[str, str] = field(default_factory=dict)  # admin sessions by label
    duration: float = 10.0  # seconds per measured run
    # CPU seconds used so far by the named bench processes ("portal", "worker", "sandbox").
    cpu_seconds: Callable[..., float] = lambda *names: 0.0

    def path_of(self, url: str) -> str:
        return url.removeprefix(self.public_base_url)
