"""A local stand-in for Google Cloud Storage's JSON API, behind an HTTPS CONNECT proxy.

GCS has no emulator to be had offline, so ``encfile publish`` (google-cloud-storage) and
``sops publish`` (Go's cloud.google.com/go/storage) both talk to this: one process
(``python tests/publish/fakegcs.py DIR``) listening on 127.0.0.1 that is

* an HTTP proxy answering ``CONNECT`` for ``storage.googleapis.com`` and
  ``oauth2.googleapis.com`` only, TLS ending in a certificate from the test CA of
  ``tests/fakecloud.py`` (``DIR/ca.pem``); any other host is refused and logged, and
  nothing is ever forwarded;
* the parts of the JSON API that publishing uses: object metadata
  (``GET /storage/v1/b/B/o/NAME``), media downloads (``alt=media``), multipart and
  resumable uploads, with ``ifGenerationMatch`` (412 when it does not match), objects
  with generations and custom metadata; a service account's token endpoint (the
  JWT-bearer grant, checked by fakecloud's verifier), and bearer tokens checked;
* a control API for the tests (``/_control/…``, ``/_objects``, ``/_log``).

The fake is held to the real sops binary: the tests publish to it with sops too and read
back the bytes each tool wrote.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for fakecloud

import fakecloud

STORAGE_HOST = "storage.googleapis.com"
HOSTS = (STORAGE_HOST, fakecloud.GOOGLE_TOKEN_HOST)


class Blob:
    def __init__(self, data: bytes, generation: int, metadata: dict[str, str] | None,
                 content_type: str) -> None:
        self.data = data
        self.generation = generation
        self.metadata = metadata
        self.content_type = content_type
        self.updated = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.buckets: dict[str, dict[str, Blob]] = {}
        self.tokens: set[str] = set()
        self.uploads: dict[str, dict[str, Any]] = {}  # resumable sessions
        self.log: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.generation = 1_700_000_000_000_000


STATE = State()


def _crc32c(data: bytes) -> str:
    import google_crc32c  # type: ignore[import-untyped]

    return base64.b64encode(google_crc32c.value(data).to_bytes(4, "big")).decode()


def resource(bucket: str, name: str, blob: Blob) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "storage#object", "id": f"{bucket}/{name}/{blob.generation}",
        "name": name, "bucket": bucket, "generation": str(blob.generation),
        "metageneration": "1", "contentType": blob.content_type, "size": str(len(blob.data)),
        "md5Hash": base64.b64encode(hashlib.md5(blob.data).digest()).decode(),
        "crc32c": _crc32c(blob.data), "timeCreated": blob.updated, "updated": blob.updated,
        "storageClass": "STANDARD",
        "selfLink": f"https://{STORAGE_HOST}/storage/v1/b/{bucket}/o/"
                    f"{urllib.parse.quote(name, safe='')}",
        "mediaLink": f"https://{STORAGE_HOST}/download/storage/v1/b/{bucket}/o/"
                     f"{urllib.parse.quote(name, safe='')}?generation={blob.generation}"
                     "&alt=media",
    }
    if blob.metadata:
        out["metadata"] = dict(blob.metadata)
    return out


class Front(BaseHTTPRequestHandler):
    """The listener on 127.0.0.1: the CONNECT proxy and the tests' control API."""

    protocol_version = "HTTP/1.1"
    ca: fakecloud.TestCA

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        if port != "443" or host not in HOSTS:
            with STATE.lock:
                STATE.refused.append(self.path)
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
        except OSError:
            self.close_connection = True
            return
        Api(tls, self.client_address, self.server, host)
        self.close_connection = True

    def _plain(self) -> None:
        if self.path.startswith(("http://", "https://")):  # a request through the proxy
            with STATE.lock:
                STATE.refused.append(self.path)
            self.send_json(403, {"error": "fakegcs forwards nothing"})
            return
        url = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        if url.path == "/health":
            self.send_json(200, {"ok": True})
        elif url.path == "/_log":
            with STATE.lock:
                self.send_json(200, {"log": STATE.log, "refused": STATE.refused})
        elif url.path == "/_objects":
            bucket = dict(urllib.parse.parse_qsl(url.query)).get("bucket", "")
            with STATE.lock:
                blobs = STATE.buckets.get(bucket, {})
                self.send_json(200, {name: {"generation": b.generation, "metadata": b.metadata,
                                            "data": base64.b64encode(b.data).decode()}
                                     for name, b in sorted(blobs.items())})
        elif url.path.startswith("/_control/") and self.command == "POST":
            self.send_json(200, control(url.path[len("/_control/"):], json.loads(body or b"{}")))
        else:
            self.send_json(404, {"error": "no such endpoint"})

    do_GET = do_POST = _plain

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""  # Go's client streams an upload of unknown length in chunks
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_bytes(self, status: int, data: bytes, content_type: str,
                   headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None
                  ) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), "application/json; charset=UTF-8",
                        headers)


def control(action: str, body: dict[str, Any]) -> dict[str, Any]:
    with STATE.lock:
        if action == "bucket":
            STATE.buckets.setdefault(body["name"], {})
            return {}
        if action == "service-account":
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            public = serialization.load_pem_public_key(body["public_key_pem"].encode())
            assert isinstance(public, rsa.RSAPublicKey)
            fakecloud.STATE.service_accounts[body["email"]] = public
            return {}
        if action == "put-object":  # someone else writes meanwhile
            STATE.generation += 1
            STATE.buckets[body["bucket"]][body["name"]] = Blob(
                base64.b64decode(body["data"]), STATE.generation, body.get("metadata"),
                "application/octet-stream")
            return {"generation": STATE.generation}
        if action == "reset":
            STATE.buckets.clear()
            STATE.log.clear()
            return {}
    return {"error": f"unknown control action {action!r}"}


class Api(Front):
    """One TLS tunnel's requests, for the host the CONNECT named."""

    def __init__(self, sock: Any, address: Any, server: Any, host: str) -> None:
        self.host = host
        super().__init__(sock, address, server)

    def _api(self) -> None:
        body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        with STATE.lock:
            STATE.log.append({"host": self.host, "method": self.command, "path": url.path,
                              "query": query, "auth": bool(self.headers.get("Authorization"))})
        if (self.headers.get("Host") or "").split(":")[0] != self.host:
            self.send_json(400, {"error": "Host header does not match the tunnel"})
        elif self.host == fakecloud.GOOGLE_TOKEN_HOST:
            self.token(body)
        elif not self.authorized():
            self.error(401, "Invalid Credentials")
        else:
            self.storage(url.path, query, body)

    do_GET = do_POST = do_PUT = do_DELETE = _api

    def do_CONNECT(self) -> None:
        self.send_json(400, {"error": "CONNECT inside a tunnel"})

    def token(self, body: bytes) -> None:
        form = dict(urllib.parse.parse_qsl(body.decode()))
        claims = fakecloud._verify_jwt(form.get("assertion", ""))
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not claims:
            self.send_json(400, {"error": "invalid_grant", "error_description": "bad assertion"})
            return
        token = "ya29.fakegcs-" + secrets.token_urlsafe(24)
        with STATE.lock:
            STATE.tokens.add(token)
        self.send_json(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        with STATE.lock:
            known = token in STATE.tokens
        return known or fakecloud._verify_jwt(token) is not None  # a self-signed JWT

    def error(self, status: int, message: str) -> None:
        self.send_json(status, {"error": {"code": status, "message": message,
                                          "errors": [{"message": message, "domain": "global",
                                                      "reason": "error"}]}})

    def storage(self, path: str, query: dict[str, str], body: bytes) -> None:
        parts = path.split("/")
        # /storage/v1/b/B/o/NAME, /download/storage/v1/b/B/o/NAME, /upload/storage/v1/b/B/o
        if path.startswith("/upload/storage/v1/b/") and len(parts) >= 7 and parts[6] == "o":
            self.upload(parts[5], query, body)
        elif path.startswith(("/storage/v1/b/", "/download/storage/v1/b/")):
            offset = 1 if parts[1] == "download" else 0
            if len(parts) < 7 + offset or parts[5 + offset] != "o":
                self.error(404, "Not Found")
                return
            bucket = parts[4 + offset]
            name = urllib.parse.unquote("/".join(parts[6 + offset:]))
            self.get(bucket, name, query, media=bool(offset) or query.get("alt") == "media")
        else:
            self.error(404, "Not Found")

    def _precondition(self, blobs: dict[str, Blob], name: str, query: dict[str, str]) -> bool:
        wanted = query.get("ifGenerationMatch")
        if wanted is None:
            return True
        current = blobs[name].generation if name in blobs else 0
        return int(wanted) == current

    def get(self, bucket: str, name: str, query: dict[str, str], media: bool) -> None:
        with STATE.lock:
            blobs = STATE.buckets.get(bucket)
            blob = blobs.get(name) if blobs is not None else None
            ok = blobs is not None and self._precondition(blobs, name, query)
        if blobs is None:
            self.error(404, "The specified bucket does not exist.")
        elif blob is None:
            self.error(404, f"No such object: {bucket}/{name}")
        elif not ok:
            self.error(412, "At least one of the pre-conditions you specified did not hold.")
        elif media:
            self.send_bytes(200, blob.data, blob.content_type, {
                "X-Goog-Hash": f"crc32c={_crc32c(blob.data)},"
                               f"md5={base64.b64encode(hashlib.md5(blob.data).digest()).decode()}",
                "X-Goog-Generation": str(blob.generation)})
        else:
            self.send_json(200, resource(bucket, name, blob))

    def upload(self, bucket: str, query: dict[str, str], body: bytes) -> None:
        kind = query.get("uploadType")
        if kind == "multipart":
            meta, data = _multipart(self.headers.get("Content-Type", ""), body)
            self.store(bucket, meta.get("name") or query.get("name", ""), meta, data, query)
        elif kind == "resumable" and "upload_id" not in query:
            meta = json.loads(body or b"{}")
            upload_id = secrets.token_urlsafe(16)
            with STATE.lock:
                STATE.uploads[upload_id] = {"meta": meta, "query": query,
                                            "name": meta.get("name") or query.get("name", "")}
            location = (f"https://{STORAGE_HOST}/upload/storage/v1/b/{bucket}/o?"
                        f"uploadType=resumable&upload_id={upload_id}")
            self.send_json(200, {}, {"Location": location})
        elif kind == "resumable":
            with STATE.lock:
                session = STATE.uploads.pop(query["upload_id"], None)
            if session is None:
                self.error(404, "No such upload")
                return
            self.store(bucket, session["name"], session["meta"], body, session["query"])
        else:
            self.error(400, f"uploadType {kind!r} is not supported here")

    def store(self, bucket: str, name: str, meta: dict[str, Any], data: bytes,
              query: dict[str, str]) -> None:
        with STATE.lock:
            blobs = STATE.buckets.get(bucket)
            ok = blobs is not None and self._precondition(blobs, name, query)
            if blobs is not None and ok and name:
                STATE.generation += 1
                blob = Blob(data, STATE.generation, meta.get("metadata") or None,
                            meta.get("contentType") or "application/octet-stream")
                blobs[name] = blob
        if blobs is None:
            self.error(404, "The specified bucket does not exist.")
        elif not name:
            self.error(400, "Object name is required.")
        elif not ok:
            self.error(412, "At least one of the pre-conditions you specified did not hold.")
        else:
            self.send_json(200, resource(bucket, name, blob))


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes]:
    """(the JSON metadata part, the media part) of a multipart/related upload."""
    boundary = ""
    for item in content_type.split(";"):
        key, _, value = item.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    chunks = body.split(b"--" + boundary.encode())
    parts = [c for c in chunks[1:] if not c.startswith(b"--")]
    found: list[bytes] = []
    for part in parts:
        part = part.removeprefix(b"\r\n")
        _, _, payload = part.partition(b"\r\n\r\n")
        found.append(payload.removesuffix(b"\r\n"))
    return json.loads(found[0] or b"{}"), found[1] if len(found) > 1 else b""


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, (BrokenPipeError, ConnectionResetError, OSError)):
            print(f"fakegcs: {type(error).__name__}: {error}", file=sys.stderr, flush=True)


def serve(folder: Path) -> None:
    Front.ca = fakecloud.TestCA(folder)
    server = Server(("127.0.0.1", 0), Front)
    print(server.server_address[1], flush=True)
    server.serve_forever(poll_interval=0.2)


# -- the test side ------------------------------------------------------------------------------

class FakeGCS(fakecloud.FakeServer):
    """The GCS fake as a process (see fakecloud.FakeServer): with the same ``url``, ``ca``
    and ``dead`` as the cloud fake, so ``fakecloud.client_env`` makes an environment for it."""

    NAME = "fakegcs"
    SCRIPT = __file__

    def objects(self, bucket: str) -> dict[str, dict[str, Any]]:
        """name -> {"generation", "metadata", "bytes"} of every object in ``bucket``."""
        found = self._call("GET", f"/_objects?bucket={urllib.parse.quote(bucket)}")
        return {name: {"generation": o["generation"], "metadata": o["metadata"],
                       "bytes": base64.b64decode(o["data"])} for name, o in found.items()}


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
