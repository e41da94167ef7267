"""A real HTTPS server on loopback that serves client ID metadata documents to the tests.

A certificate authority and a server certificate are made for each test session with
``cryptography`` (the CA's PEM goes to a file, as an operator's CA bundle would), and the server
answers each path as the test set it: any status, headers, body, chunked or not, slowly or at
once. Every request it receives is recorded, with the address it came in on.
"""

import contextlib
import datetime
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

#: The names the server certificate is valid for (and no other).
CERTIFIED_NAMES = ("docs.test", "127.0.0.1")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Send the body in chunks (Transfer-Encoding: chunked), without a Content-Length.
    chunked: bool = False
    #: Seconds to wait between chunks of ``drip`` bytes (a slow server).
    drip_seconds: float = 0.0
    drip: int = 64


@dataclass
class Seen:
    path: str
    host_header: str | None
    #: The local address the request arrived at.
    address: str


@dataclass
class DocumentServer:
    url: str
    port: int
    ca_file: Path
    answers: dict[str, Answer] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def serve(self, path: str, answer: Answer) -> str:
        """Answer ``path`` so; the https URL of it on 127.0.0.1."""
        self.answers[path] = answer
        return f"{self.url}{path}"

    def requests_for(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A new CA (its certificate in ``ca.pem``) and a server key and certificate it signed."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Tessera test CA"))
        .issuer_name(_name("Tessera test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("docs.test")]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("docs.test"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


@contextmanager
def document_server(folder: Path) -> Iterator[DocumentServer]:
    """An HTTPS server on 127.0.0.1 (a free port) for the duration of the block."""
    ca_file, cert_file, key_file = make_certificates(folder)
    state: dict[str, DocumentServer] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the tests read what was seen from the server itself

        def do_GET(self) -> None:
            server = state["server"]
            server.seen.append(
                Seen(self.path, self.headers.get("Host"), self.connection.getsockname()[0])
            )
            answer = server.answers.get(self.path, Answer(404, body=b"not here"))
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            # OSError: the client gave up (too big, too slow), which is what the test wants.
            with contextlib.suppress(OSError):
                self._body(answer)

        def _body(self, answer: Answer) -> None:
            body = answer.body
            step = answer.drip if answer.drip_seconds or answer.chunked else max(1, len(body))
            for start in range(0, len(body), step):
                piece = body[start : start + step]
                if answer.chunked:
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                else:
                    self.wfile.write(piece)
                self.wfile.flush()
                if answer.drip_seconds:
                    time.sleep(answer.drip_seconds)
            if answer.chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    port = httpd.server_address[1]
    server = DocumentServer(url=f"https://127.0.0.1:{port}", port=port, ca_file=ca_file)
    state["server"] = server
    thread = threading.Thread(target=httpd.serve_forever, name="document-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
