"""A test age plugin, ``age-plugin-encfiletest``, and helpers to put it (and encfile's own
``age-plugin-pq``) on PATH.

No real plugin binary (age-plugin-yubikey needs a YubiKey) can be had here, so the tests
use this one: a small, independent implementation of the plugin side of the C2SP
age-plugin spec, ``recipient-v1`` and ``identity-v1``, written from the spec and checked
against the real ``age`` CLI (tests/keysources/test_age_plugins.py). It shares no code
with encfile (its own Bech32, its own stanza reader), so it checks encfile and pyrage
rather than agreeing with them by construction.

Keys: the recipient ``age1encfiletest1…`` is an X25519 public key; the identity
``AGE-PLUGIN-ENCFILETEST-1…`` is one flags byte, the X25519 private key, then the PIN
(UTF-8) when the PIN flag is set. The stanza is ``-> encfiletest <enc>`` with an HPKE
(X25519, HKDF-SHA256, ChaCha20Poly1305, pyca/cryptography) sealing of the file key. The
flags make the plugin act like a hardware key when it unwraps:

* ``TOUCH``: it sends ``msg`` "touch your encfile test key" first;
* ``PIN``: it sends ``request-secret`` and refuses a wrong PIN (``error identity``);
* ``CONFIRM``: it sends ``confirm`` ("insert …", yes/no) and gives up on "no";
* ``PUBLIC``: it sends ``request-public`` and wants the answer ``42``;
* ``LEAKY``: it refuses, with an error that quotes the identity back (a careless plugin).

It ignores unknown commands (``grease-*``, ``extension-labels``) and tolerates a client
that hangs up before its final ``done``. With ``ENCFILE_TEST_PLUGIN_LOG`` set it appends
one line per run to that file (``identity-v1``/``recipient-v1``), so tests can tell whether
and when it was started.
"""

from __future__ import annotations

import base64
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from encfile.keysources.identities import KeyRing

NAME = "encfiletest"
TESTS = Path(__file__).resolve().parent
TOUCH, PIN, CONFIRM, PUBLIC, LEAKY = 1, 2, 4, 8, 16
TEST_PIN = "123456"
_INFO = b"encfile test plugin"

# -- Bech32 (BIP 173 without the length limit, as age uses it) ---------------------------------

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _hrp(h: str) -> list[int]:
    return [ord(c) >> 5 for c in h.lower()] + [0] + [ord(c) & 31 for c in h.lower()]


def _bits(data: list[int] | bytes, f: int, t: int, pad: bool) -> list[int]:
    acc = n = 0
    out = []
    for v in data:
        acc, n = (acc << f) | v, n + f
        while n >= t:
            n -= t
            out.append((acc >> n) & ((1 << t) - 1))
    if pad and n:
        out.append((acc << (t - n)) & ((1 << t) - 1))
    elif not pad and (n >= f or (acc << (t - n)) & ((1 << t) - 1)):
        raise ValueError("bad padding")
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    v = _bits(data, 8, 5, True)
    c = _polymod(_hrp(hrp) + v + [0] * 6) ^ 1
    s = hrp.lower() + "1" + "".join(_CHARSET[x] for x in v + [(c >> 5 * (5 - i)) & 31
                                                                for i in range(6)])
    return s.upper() if hrp.isupper() else s


def bech32_decode(s: str) -> tuple[str, bytes]:
    if s.lower() != s and s.upper() != s:
        raise ValueError("mixed case")
    pos = s.rfind("1")
    v = [_CHARSET.index(c) for c in s[pos + 1:].lower()]
    if pos < 1 or len(v) < 6 or _polymod(_hrp(s[:pos]) + v) != 1:
        raise ValueError("bad checksum")
    return s[:pos], bytes(_bits(v[:-6], 5, 8, False))


# -- keys ------------------------------------------------------------------------------------

class TestKey:
    """A test plugin key pair: ``recipient`` (age1encfiletest1…) and ``identity``."""

    __test__ = False  # not a pytest class

    def __init__(self, flags: int = 0, pin: str = TEST_PIN, secret: bytes | None = None) -> None:
        from cryptography.hazmat.primitives.asymmetric import x25519

        key = x25519.X25519PrivateKey.from_private_bytes(secret or os.urandom(32))
        raw = key.private_bytes_raw()
        extra = pin.encode() if flags & PIN else b""
        self.identity = bech32_encode(f"AGE-PLUGIN-{NAME.upper()}-", bytes([flags]) + raw + extra)
        self.recipient = bech32_encode(f"age1{NAME}", key.public_key().public_bytes_raw())
        self.secret = raw

    def key_file(self, path: Path) -> Path:
        path.write_text(f"# public key: {self.recipient}\n{self.identity}\n")
        path.chmod(0o600)
        return path


def install(folder: Path, name: str = NAME) -> Path:
    """Write ``age-plugin-NAME`` (running this module) into ``folder``; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / f"age-plugin-{name}"
    program.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(TESTS)!r})\n"
                       "from age_plugin_support import plugin_main\n"
                       "sys.exit(plugin_main())\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


def install_pq(folder: Path) -> Path:
    """``age-plugin-pq`` in ``folder``: encfile's plugin, run as its console script runs
    it (``encfile.keysources.age_pq_plugin:main``), plus the ``ENCFILE_TEST_PLUGIN_LOG``
    line (``pq identity-v1``) that tells a test it was started."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "age-plugin-pq"
    program.write_text(f"#!{sys.executable}\nimport os, sys\n"
                       "if os.environ.get('ENCFILE_TEST_PLUGIN_LOG'):\n"
                       "    with open(os.environ['ENCFILE_TEST_PLUGIN_LOG'], 'a') as f:\n"
                       "        f.write('pq ' + ' '.join(sys.argv[1:]) + '\\n')\n"
                       "from encfile.keysources.age_pq_plugin import main\n"
                       "sys.exit(main())\n")
    program.chmod(0o755)
    return folder


ORIGINAL_PATH = os.environ.get("PATH", "")


def plugin_path(folder: Path, base: str | None = None) -> str:
    """A PATH with ``folder`` (the test plugins) first, then ``base`` (default: this
    process's PATH as it was before :func:`session_bin` changed it)."""
    rest = ORIGINAL_PATH if base is None else base
    return f"{folder}{os.pathsep}{rest}" if rest else str(folder)


def without_plugins(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the PATH this process had before :func:`session_bin`."""
    return {**env, "PATH": ORIGINAL_PATH}


_SESSION_BIN: Path | None = None


def session_bin() -> Path:
    """A folder holding both test plugins, put on this process's PATH once (for the tests
    that call the library in-process: pyrage finds plugins on the process's PATH)."""
    global _SESSION_BIN
    if _SESSION_BIN is None:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="encfile-plugins-"))
        install(folder)
        install_pq(folder)
        os.environ["PATH"] = plugin_path(folder)
        _SESSION_BIN = folder
    return _SESSION_BIN


# -- the plugin -------------------------------------------------------------------------------

def _b64e(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _b64d(text: str) -> bytes:
    data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    if _b64e(data) != text:
        raise ValueError("not canonical")
    return data


def _read(f: BinaryIO) -> tuple[str, list[str], bytes]:
    line = f.readline()
    if not line:
        raise EOFError
    if not line.startswith(b"-> "):
        raise ValueError(f"unexpected line {line[:20]!r}")
    tag, *args = line[3:].rstrip(b"\n").decode().split(" ")
    body = b""
    while True:
        row = f.readline().rstrip(b"\n").decode()
        body += _b64d(row)
        if len(row) < 64:
            return tag, args, body


def _write(f: BinaryIO, tag: str, args: list[str] | None = None, body: bytes = b"") -> None:
    b64 = _b64e(body)
    rows = [b64[i:i + 64] for i in range(0, len(b64), 64)] or [""]
    if len(rows[-1]) == 64:
        rows.append("")
    f.write((" ".join(["->", tag, *(args or [])]) + "\n" + "\n".join(rows) + "\n").encode())
    f.flush()


def _ask(fin: BinaryIO, fout: BinaryIO, tag: str, args: list[str], body: bytes
         ) -> tuple[str, list[str], bytes]:
    _write(fout, tag, args, body)
    return _read(fin)


def _suite() -> Any:
    from cryptography.hazmat.primitives import hpke

    return hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


def _recipient_v1(fin: BinaryIO, fout: BinaryIO) -> None:
    from cryptography.hazmat.primitives.asymmetric import x25519

    recipients, keys = [], []
    while True:
        tag, args, body = _read(fin)
        if tag == "done":
            break
        if tag == "add-recipient":
            recipients.append(args[0])
        elif tag == "wrap-file-key":
            keys.append(body)
    publics = []
    for i, r in enumerate(recipients):
        try:
            hrp, data = bech32_decode(r)
            assert hrp == f"age1{NAME}" and len(data) == 32
            publics.append(x25519.X25519PublicKey.from_public_bytes(data))
        except (ValueError, AssertionError):
            _ask(fin, fout, "error", ["recipient", str(i)], b"not an encfiletest recipient")
            _write(fout, "done")
            return
    for index, file_key in enumerate(keys):
        for public in publics:
            sealed = _suite().encrypt(file_key, public, info=_INFO)
            _ask(fin, fout, "recipient-stanza", [str(index), NAME, _b64e(sealed[:32])],
                 sealed[32:])
    _write(fout, "done")


def _identity_v1(fin: BinaryIO, fout: BinaryIO) -> None:
    from cryptography.hazmat.primitives.asymmetric import x25519

    identities: list[str] = []
    files: list[list[tuple[str, list[str], bytes]]] = []
    while True:
        tag, args, body = _read(fin)
        if tag == "done":
            break
        if tag == "add-identity":
            identities.append(args[0])
        elif tag == "recipient-stanza":
            if int(args[0]) == len(files):
                files.append([])
            files[-1].append((args[1], args[2:], body))
    parsed = []
    for i, text in enumerate(identities):
        try:
            hrp, data = bech32_decode(text)
            assert hrp == f"AGE-PLUGIN-{NAME.upper()}-" and len(data) >= 33
        except (ValueError, AssertionError):
            _ask(fin, fout, "error", ["identity", str(i)], b"not an encfiletest identity")
            _write(fout, "done")
            return
        parsed.append((i, data[0], x25519.X25519PrivateKey.from_private_bytes(data[1:33]),
                       data[33:].decode()))
    for index, stanzas in enumerate(files):
        done = False
        for tag, args, body in stanzas:
            if tag != NAME or done:
                continue
            for i, flags, key, pin in parsed:
                try:
                    file_key = _suite().decrypt(_b64d(args[0]) + body, key, info=_INFO)
                except Exception:
                    continue
                if flags & LEAKY:
                    _ask(fin, fout, "error", ["identity", str(i)],
                         f"cannot use {identities[i]} today".encode())
                    continue
                if flags & TOUCH:
                    _ask(fin, fout, "msg", [], b"touch your encfile test key")
                if flags & CONFIRM:
                    reply = _ask(fin, fout, "confirm", [_b64e(b"Continue"), _b64e(b"Skip")],
                                 b"insert your encfile test key")
                    if reply[:2] != ("ok", ["yes"]):
                        continue
                if flags & PUBLIC:
                    reply = _ask(fin, fout, "request-public", [], b"serial of your test key")
                    if reply[0] != "ok" or reply[2] != b"42":
                        _ask(fin, fout, "error", ["identity", str(i)], b"wrong serial")
                        continue
                if flags & PIN:
                    reply = _ask(fin, fout, "request-secret", [],
                                 b"Enter PIN for encfile test key")
                    if reply[0] != "ok":
                        continue
                    if reply[2] != pin.encode():
                        _ask(fin, fout, "error", ["identity", str(i)], b"wrong PIN")
                        continue
                _ask(fin, fout, "file-key", [str(index)], file_key)
                done = True
                break
    _write(fout, "done")


def plugin_main() -> int:
    machine = next((a.split("=", 1)[1] for a in sys.argv[1:]
                    if a.startswith("--age-plugin=")), "")
    log = os.environ.get("ENCFILE_TEST_PLUGIN_LOG")
    if log:
        with open(log, "a") as f:
            f.write(machine + "\n")
    fin, fout = sys.stdin.buffer, sys.stdout.buffer
    try:
        if machine == "recipient-v1":
            _recipient_v1(fin, fout)
        elif machine == "identity-v1":
            _identity_v1(fin, fout)
        else:
            sys.stderr.write(f"age-plugin-{NAME}: unknown state machine {machine!r}\n")
            return 1
    except (EOFError, BrokenPipeError):
        pass  # the client hung up (age 1.1 may, before the final done)
    return 0


# -- keys for tests/keysources/test_contract.py --------------------------------------------------

_CONTRACT: dict[str, tuple[str, str]] = {}


def contract_key(kind: str, other: bool = False) -> tuple[str, str]:
    """``(recipient, identity)`` of a test-plugin (``plugin``) or post-quantum (``pq``)
    key, made once per session."""
    name = f"{kind}-{other}"
    if name not in _CONTRACT:
        if kind == "pq":
            from encfile.keysources import age_pq

            secret, public = age_pq.generate()
            _CONTRACT[name] = (public, secret)
        else:
            key = TestKey()
            _CONTRACT[name] = (key.recipient, key.identity)
    return _CONTRACT[name]


def contract_ring(kind: str, other: bool = False) -> KeyRing:
    """A KeyRing holding the contract key's identity, with both plugins on PATH."""
    from encfile.keysources.identities import KeyRing

    session_bin()
    return KeyRing([contract_key(kind, other)[1]])


# -- driving the CLI ------------------------------------------------------------------------------

def on_terminal(command: list[str], env: dict[str, str], answers: list[tuple[str, str]],
                stdin: bytes = b"", timeout: float = 60
                ) -> tuple[int, bytes, bytes, str]:
    """Run ``command`` with a pseudo-terminal as its controlling terminal (``/dev/tty``)
    but pipes for standard input, output and error: ``(status, stdout, stderr, what the
    terminal showed)``. Each answer is typed once its prompt (a substring) has shown on
    the terminal. So a test sees what goes to stderr and what is read from the tty."""
    import contextlib
    import select
    import subprocess
    import time

    master, slave = os.openpty()
    tty_name = os.ttyname(slave)

    def become_session_leader() -> None:  # runs in the child, before exec
        os.setsid()
        os.close(os.open(tty_name, os.O_RDWR))  # the first tty a leader opens is its own

    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, preexec_fn=become_session_leader)
    assert proc.stdin is not None
    proc.stdin.write(stdin)
    proc.stdin.close()
    proc.stdin = None  # written and closed: communicate() is only to read
    shown = b""
    answered = 0  # prompts before this offset were answered
    pending = list(answers)

    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                with contextlib.suppress(OSError):
                    shown += os.read(master, 4096)
            if pending and pending[0][0].encode() in shown[answered:]:
                os.write(master, pending.pop(0)[1].encode() + b"\n")
                answered = len(shown)
        out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(master)
        os.close(slave)
    return proc.returncode, out, err, shown.decode("utf-8", "replace")


def stanza_types(text: str) -> list[list[str]]:
    """The recipient-stanza types of every age ``enc`` in a sops file of any format (the
    armor may be a YAML block, or have ``\\n`` escapes in JSON, dotenv and INI)."""
    import re

    flat = text.replace("\\n", "\n")
    out = []
    for block in re.findall(r"-----BEGIN AGE ENCRYPTED FILE-----(.*?)-----END AGE", flat, re.S):
        raw = base64.b64decode("".join(line.strip() for line in block.splitlines()))
        header = raw.split(b"\n--- ")[0].decode("ascii", "replace")
        out.append([line.split(" ")[1] for line in header.split("\n")
                    if line.startswith("-> ") and not line.split(" ")[1].endswith("-grease")])
    return out


def stanza_count(text: str) -> list[int]:
    """How many stanzas each ``enc`` has, grease included (pyrage starts a plugin once per
    stanza it tries: its identities only implement ``unwrap_stanza``)."""
    import re

    flat = text.replace("\\n", "\n")
    out = []
    for block in re.findall(r"-----BEGIN AGE ENCRYPTED FILE-----(.*?)-----END AGE", flat, re.S):
        raw = base64.b64decode("".join(line.strip() for line in block.splitlines()))
        out.append(raw.split(b"\n--- ")[0].count(b"\n-> "))
    return out


SAMPLES = {  # a small file per format sops and encfile both read and write
    "yaml": ("secret.yaml", b"db:\n    user: admin\n    password: hunter2\nport: 5432\n"),
    "json": ("secret.json", b'{\n    "user": "admin",\n    "port": 5432\n}\n'),
    "dotenv": ("secret.env", b"USER=admin\nPASSWORD=hunter2\n"),
    "ini": ("secret.ini", b"[db]\nuser = admin\npassword = hunter2\n"),
    "binary": ("secret.bin", b"\x00\x01 a binary secret \xff\n"),
}


def interop_both_ways(sops_bin: str, folder: Path, fmt: str, recipient: str,
                      env: dict[str, str]) -> tuple[str, str]:
    """Encrypt a sample for ``recipient`` with sops and with encfile, then decrypt each
    with the other tool (``env`` holds the identity and PATH). The bytes must be what
    ``sops decrypt`` gives for sops's own file. Returns (sops's file, encfile's file)."""
    import subprocess

    name, plain = SAMPLES[fmt]
    source = folder / name
    source.write_bytes(plain)

    def run(*argv: str) -> bytes:
        proc = subprocess.run(list(argv), capture_output=True, env=env, timeout=120)
        assert proc.returncode == 0, (argv[:3], proc.stderr.decode("utf-8", "replace"))
        return proc.stdout

    encfile_cli = [sys.executable, "-m", "encfile"]
    by_sops = folder / f"sops.{name}"
    by_sops.write_bytes(run(sops_bin, "encrypt", "--age", recipient, str(source)))
    by_encfile = folder / f"encfile.{name}"
    by_encfile.write_bytes(run(*encfile_cli, "-e", "--age", recipient, str(source)))
    expected = run(sops_bin, "decrypt", str(by_sops))
    if fmt in ("yaml", "dotenv", "binary"):  # (sops rewrites JSON and INI its own way)
        assert expected == plain
    assert run(sops_bin, "decrypt", str(by_encfile)) == expected, "encfile -> sops"
    assert run(*encfile_cli, "-d", str(by_sops)) == expected, "sops -> encfile"
    return by_sops.read_text(errors="replace"), by_encfile.read_text(errors="replace")
