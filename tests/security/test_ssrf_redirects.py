"""Strict mode (HITL_ALLOW_PRIVATE_CALLBACKS off): a redirect from an allowed public host to a
private or loopback address is refused at that hop, in the words of any other refusal, and no
request reaches the private target.

A public web server cannot be used here (the tests never leave the loopback), so 127.0.0.2 plays
the public host: `public_stand_in` makes exactly that one address count as public for both checks
(requests-hardened's resolver filter and core.outbound.is_public). Every other loopback address,
127.0.0.1 included, stays refused as in production.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from requests_hardened import ip_filter_adapter

from conversations import callbacks
from conversations.api.attachments import load
from conversations.api.errors import ApiError
from core import outbound

STAND_IN = "127.0.0.2"
HOST = "files.example.com"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for HOST (key, cert and the CA file the client trusts)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return folder / "key.pem", folder / "cert.pem"


@pytest.fixture
def trust_test_ca(monkeypatch, certificate):
    """The outbound sessions verify TLS against the test certificate instead of the public CAs
    (only the trust store changes: the address checks run as in production)."""
    real_send = outbound.PinnedAddressAdapter.send

    def send(self, request, **kwargs):
        if kwargs.get("verify") is True:
            kwargs["verify"] = str(certificate[1])
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(outbound.PinnedAddressAdapter, "send", send)


@pytest.fixture
def public_stand_in(monkeypatch):
    real_is_public = outbound.is_public
    real_filter = ip_filter_adapter.filter_host

    def is_public(address):
        return address == ipaddress.ip_address(STAND_IN) or real_is_public(address)

    def filter_host(hostname, port, *, allow_loopback):
        resolved = real_filter(hostname, port, allow_loopback=True)
        if resolved == STAND_IN:
            return resolved
        return real_filter(hostname, port, allow_loopback=allow_loopback)

    monkeypatch.setattr(outbound, "is_public", is_public)
    monkeypatch.setattr(ip_filter_adapter, "filter_host", filter_host)


class Redirector:
    """An HTTPS server for HOST on 127.0.0.2 answering with a redirect (`status` to `location`),
    or with a small GIF for paths under /file."""

    def __init__(self, certificate):
        self.location = ""
        self.status = 302
        self.hits: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                owner.hits.append(self.path)
                if self.path.startswith("/file"):
                    body = b"GIF89a"
                    self.send_response(200)
                    self.send_header("Content-Type", "image/gif")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(owner.status)
                self.send_header("Location", owner.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((STAND_IN, 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile=str(certificate[1]), keyfile=str(certificate[0]))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def redirector(dns, public_stand_in, trust_test_ca, certificate):
    dns.set(HOST, STAND_IN)
    server = Redirector(certificate)
    yield server
    server.close()


def _fetch_error(url: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        load([{"url": url}])
    return caught.value


def test_the_stand_in_is_reachable_and_a_public_redirect_is_followed(strict, redirector):
    # given: the "public" host redirecting to another path on itself (the control case)
    redirector.location = f"https://files.example.com:{redirector.port}/file.gif"
    (loaded,) = load([{"url": f"https://files.example.com:{redirector.port}/start"}])
    assert redirector.hits == ["/start", "/file.gif"]
    assert loaded


@pytest.mark.parametrize(
    "target",
    [
        "https://inside.example.com:{port}/secret",  # a name resolving to 127.0.0.1
        "https://127.0.0.1:{port}/secret",
        "https://[::ffff:127.0.0.1]:{port}/secret",
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://10.0.0.5:{port}/admin",
        "https://[2002:7f00:1::]:{port}/",  # 6to4 wrapping 127.0.0.1
    ],
)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_a_private_address_is_refused_at_the_hop(
    strict, dns, redirector, listener, loopback_only, target, status
):
    # given: a public host whose answer redirects to a private target
    dns.set("inside.example.com", "127.0.0.1")
    dns.set("gone.example.com", "")  # a name that does not resolve: the reference refusal
    redirector.status = status
    redirector.location = target.format(port=listener.port)

    # when: a bot asks for that URL
    error = _fetch_error(f"https://files.example.com:{redirector.port}/start")

    # then: the first hop was fetched, the private target never reached
    assert redirector.hits == ["/start"]
    assert listener.accepted == 0
    assert not [a for a in loopback_only if a not in ("127.0.0.2", "127.0.0.1")]
    assert "127.0.0.1" not in loopback_only
    # and: the answer reads like any other unreachable host, revealing nothing of the target
    reference = _fetch_error(f"https://gone.example.com:{listener.port}/x")
    assert (error.status_code, error.error_code, str(error.detail)) == (
        reference.status_code,
        reference.error_code,
        str(reference.detail),
    )
    assert "127.0.0.1" not in str(error.detail) and "169.254" not in str(error.detail)


def test_a_callback_redirect_to_a_private_address_is_not_followed(
    event, dns, redirector, listener, loopback_only
):
    # given: a bot's public callback URL answering 307 to a loopback address
    dns.set("inside.example.com", "127.0.0.1")
    redirector.status = 307
    redirector.location = f"https://inside.example.com:{listener.port}/steal"
    url = f"https://files.example.com:{redirector.port}/hook"

    outcome, attempt = callbacks.send_event(event(url), url)

    # then: the signed body went to the public host only
    assert redirector.hits == ["/hook"]
    assert listener.accepted == 0 and "127.0.0.1" not in loopback_only
    assert not outcome.ok and attempt.status_code == 307
    assert "redirect not followed" in attempt.error
