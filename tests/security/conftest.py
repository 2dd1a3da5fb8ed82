"""Fixtures of the security tests: a fake DNS and a guard that no socket leaves the loopback.

These tests play with host names that resolve to public addresses. A fake resolver answers them,
and the guard turns any connect to a non-loopback address into "connection refused" before a
packet is sent, so a regression can never send traffic off this machine.
"""

from __future__ import annotations

import ipaddress
import socket
import threading

import pytest


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Every connect to an address outside 127.0.0.0/8 and ::1 is refused without a packet sent;
    the attempted addresses are recorded (the list is the fixture's value)."""
    attempted: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def _check(address):
        if isinstance(address, tuple):
            host = address[0]
            attempted.append(host)
            try:
                if not ipaddress.ip_address(host.split("%", 1)[0]).is_loopback:
                    raise ConnectionRefusedError(111, "Connection refused (test guard: not loopback)")
            except ValueError:
                raise ConnectionRefusedError(111, "Connection refused (test guard: not an address)") from None

    def connect(self, address):
        _check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        _check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return attempted


class FakeDNS:
    """Answers names in `answers` (a list is consumed one answer per lookup, the last repeats);
    literal addresses and anything else go to the real resolver."""

    def __init__(self, real):
        self.real = real
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def set(self, name: str, *addresses: str) -> None:
        self.answers[name] = list(addresses)

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return self.real(host, port, family, type, proto, flags)
        self.lookups.append(name)
        queue = self.answers[name]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        if not address:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        fam = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, int(port or 0), 0, 0) if fam == socket.AF_INET6 else (address, int(port or 0))
        return [(fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDNS(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def listener():
    """A TCP socket on 127.0.0.1 that counts the connections it accepts (and answers nothing)."""

    class Listener:
        accepted = 0

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    state = Listener()
    state.port = server.getsockname()[1]
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            state.accepted += 1
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield state
    stop.set()
    thread.join(2)
    server.close()


@pytest.fixture
def strict(settings):
    """Production's outbound rules: public https:// addresses only, short timeouts."""
    settings.HITL_ALLOW_PRIVATE_CALLBACKS = False
    settings.HITL_CALLBACK_CONNECT_TIMEOUT = 1.0
    settings.HITL_CALLBACK_READ_TIMEOUT = 1.0
    settings.HITL_ATTACHMENT_FETCH_TIMEOUT = 1.0


@pytest.fixture
def event(db, strict):
    from connections.models import CallbackSecret, Connection, ConnectionStatus
    from tests.factories import HubSpotAppFactory, TenantFactory

    app = HubSpotAppFactory(tenant=TenantFactory())
    connection = Connection.objects.create(
        tenant=app.tenant, app=app, portal_id=4242, status=ConnectionStatus.ACTIVE, name="c"
    )
    CallbackSecret.issue(connection)

    def make(url: str):
        from tests.callbacks.conftest import emit_n
        from tests.factories import EscalationFactory

        escalation = EscalationFactory(connection=connection, callback_url=url, conversation_id=url)
        (emitted,) = emit_n(escalation, 1)
        return emitted

    return make
