"""No identity, or the wrong one: exit 128, a useful message, and never a private key.

One encrypted file has three recipients: the committed test key, a key generated for the
session that nobody holds, and an ssh-ed25519 key. Every identity *scenario* below gives
encfile something that cannot open it; the *commands* that need the data key run as a user
would run them (a subprocess, real files, a clean environment):

=========================  ==============================================================
no-source                  no identity source at all (the default key files do not exist)
SOPS_AGE_KEY               a wrong key in the variable
ENCFILE_AGE_KEY-lowercase  a wrong key, written in lowercase (bech32 allows it)
SOPS_AGE_KEY_FILE          a key file holding a wrong key
ENCFILE_AGE_KEY_CMD        a command that prints a wrong key
SOPS_AGE_KEY_CMD-failing   a command that prints a wrong key on stdout, a damaged copy
                           of the right one on stderr, and fails (exit 3)
default-file               $XDG_CONFIG_HOME/sops/age/keys.txt holding a wrong key
missing-file               SOPS_AGE_KEY_FILE names a file that does not exist
malformed-file             a key file of garbage lines, damaged and truncated copies of
                           the right key, a post-quantum line
directory-file             ENCFILE_AGE_KEY_FILE names a directory
binary-file                a key file that is not UTF-8 (and holds a damaged right key)
ssh-variable               SOPS_AGE_SSH_PRIVATE_KEY_FILE: an ssh key that does not match
ssh-default                ~/.ssh/id_ed25519: an ssh key that does not match
=========================  ==============================================================

Commands: every scenario runs ``-d``, ``exec``, ``exec-file`` and ``git textconv``; six
representative scenarios also run ``-d -v``, ``edit``, ``set`` and ``rotate -i`` (they load
identities through the same code, and start slower). All but textconv: exit 128, nothing on
stdout, one error line then hints, no traceback, the file and its folder untouched, no child
command or editor started. ``git textconv``: exit 0, the ciphertext as it is, then one line
saying why it cannot be decrypted.

Every message must list the file's recipients (public keys) and name the identity source
that was tried; no output may hold a substring of 12 characters or more of any private key
involved (upper- or lowercase bech32 text, its 32 key bytes in hex or base64, the ssh
private key's base64 body or its seed). The library gives the same guarantees for
:class:`encfile.NoIdentityError` (message, hints, attributes, traceback), and Hypothesis
feeds mutated copies of the right key through a key file.
"""

from __future__ import annotations

import base64
import os
import shlex
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import (
    OTHER_KEY_FILE,
    OTHER_SECRET,
    TEST_PUBLIC,
    TEST_SECRET,
    assert_cli_error,
    b64_forms,
    clean_env,
    run_encfile,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import encfile

EXIT_NO_IDENTITY = 128
WINDOW = 12
SECRET_PREFIX = "AGE-SECRET-KEY-1"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
CANARIES = ("pw-Tq7rZ3kLw9xN2vB5", "tok-Hm4sJ8cV1pQ6yR0e")
PLAIN = (f"db:\n  password: {CANARIES[0]}\n  port: 5432\n"
         f"api_token: {CANARIES[1]}\n")
SET_PATH = '["db"]["port"]'


# -- private-key fragments -------------------------------------------------------------------

def _bech32_bytes(secret: str) -> bytes:
    """The 32 key bytes of an ``AGE-SECRET-KEY-1…`` string (checksum not verified)."""
    data = secret.lower().rsplit("1", 1)[1][:-6]  # drop the HRP and the 6-char checksum
    acc = bits = 0
    out = bytearray()
    for char in data:
        acc = (acc << 5) | BECH32.index(char)
        bits += 5
        while bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    return bytes(out)


def _windows(text: str, *, skip_prefix: str = "") -> set[str]:
    """Every substring of WINDOW characters (lowercased), except those inside ``skip_prefix``,
    which is public (``AGE-SECRET-KEY-1`` says what a string is, not which key)."""
    out = set()
    for i in range(len(text) - WINDOW + 1):
        if i + WINDOW <= len(skip_prefix) and text.startswith(skip_prefix):
            continue
        out.add(text[i:i + WINDOW].lower())
    return out


def age_key_fragments(secret: str) -> set[str]:
    raw = _bech32_bytes(secret)
    assert len(raw) == 32, secret[:20]
    frags = _windows(secret.upper(), skip_prefix=SECRET_PREFIX)
    frags |= _windows(raw.hex())
    for form in b64_forms(raw):
        frags |= _windows(form)
    return frags


def _pem_body(pem: bytes) -> str:
    return "".join(line for line in pem.decode().splitlines() if not line.startswith("-----"))


# The layout every unencrypted OpenSSH ed25519 key shares (magic, "none", key type): public.
_REFERENCE_PEM = _pem_body(ed25519.Ed25519PrivateKey.generate().private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
    serialization.NoEncryption()))


def ssh_key_fragments(private_pem: bytes, seed: bytes, public_line: str) -> set[str]:
    """Windows of the PEM body and of the 32-byte seed; windows that also occur in the
    public key line, or in any other key's PEM (the shared layout), do not count."""
    public = public_line.lower()
    frags = {w for w in _windows(_pem_body(private_pem))
             if w not in public and w not in _REFERENCE_PEM.lower()}
    frags |= _windows(seed.hex())
    for form in b64_forms(seed):
        frags |= {w for w in _windows(form) if w not in public}
    return frags


def assert_no_key_fragment(output: bytes | str, fragments: set[str], where: str) -> None:
    text = (output.decode("utf-8", "replace") if isinstance(output, bytes) else output).lower()
    leaked = sorted(f for f in fragments if f in text)
    assert not leaked, f"{where} holds private-key text {leaked[:3]}:\n{text}"


# -- the encrypted file and its keys ---------------------------------------------------------

@dataclass
class SshKey:
    path: Path
    public: str
    fragments: set[str]


def make_ssh_key(folder: Path, name: str) -> SshKey:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            serialization.NoEncryption())
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(pem)
    path.chmod(0o600)
    return SshKey(path, public, ssh_key_fragments(pem, seed, public))


@dataclass
class Sample:
    path: Path
    data: bytes
    recipients: list[str]
    fragments: set[str]  # every private key involved, as fragments
    ssh_right: SshKey


@pytest.fixture
def sample(tmp_path: Path) -> Sample:
    third = encfile.generate_identity()  # a recipient nobody in these tests holds
    ssh_right = make_ssh_key(tmp_path / "ssh-right", "id_ed25519")
    recipients = [TEST_PUBLIC, third.public, ssh_right.public]
    text = encfile.encrypt(PLAIN, recipients=recipients, format="yaml")
    work = tmp_path / "work"
    work.mkdir()
    path = work / "secrets.enc.yaml"
    path.write_text(text)
    fragments = (age_key_fragments(TEST_SECRET) | age_key_fragments(OTHER_SECRET)
                 | age_key_fragments(third.secret) | ssh_right.fragments)
    return Sample(path, path.read_bytes(), recipients, fragments, ssh_right)


# -- identity scenarios ----------------------------------------------------------------------

@dataclass
class Setup:
    env: dict[str, str]
    markers: list[str]  # text naming the source that was tried
    fragments: set[str] = field(default_factory=set)


def _private_file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _damaged(secret: str) -> str:
    """The key with one body character changed: the bech32 checksum no longer holds."""
    i = len(SECRET_PREFIX) + 10
    new = "Q" if secret[i] != "Q" else "P"
    return secret[:i] + new + secret[i + 1:]


def _printer(tmp: Path, stdout: str, stderr: str = "", code: int = 0) -> str:
    script = tmp / f"keycmd-{code}.py"
    script.write_text(f"import sys\nsys.stdout.write({stdout!r})\nsys.stderr.write({stderr!r})\n"
                      f"sys.exit({code})\n")
    return shlex.join([sys.executable, str(script)])


def _other_key_text() -> bytes:
    return OTHER_KEY_FILE.read_bytes()


def s_no_source(tmp: Path, home: Path) -> Setup:
    return Setup(clean_env(home), [str(home / ".config" / "sops" / "age" / "keys.txt")])


def s_sops_age_key(tmp: Path, home: Path) -> Setup:
    return Setup(clean_env(home, SOPS_AGE_KEY=OTHER_SECRET), ["SOPS_AGE_KEY"])


def s_encfile_age_key_lower(tmp: Path, home: Path) -> Setup:
    return Setup(clean_env(home, ENCFILE_AGE_KEY=OTHER_SECRET.lower()), ["ENCFILE_AGE_KEY"])


def s_key_file(tmp: Path, home: Path) -> Setup:
    path = _private_file(tmp / "keys" / "wrong.txt", _other_key_text())
    return Setup(clean_env(home, SOPS_AGE_KEY_FILE=str(path)), [f"SOPS_AGE_KEY_FILE={path}"])


def s_key_cmd(tmp: Path, home: Path) -> Setup:
    command = _printer(tmp, OTHER_SECRET + "\n")
    return Setup(clean_env(home, ENCFILE_AGE_KEY_CMD=command), ["ENCFILE_AGE_KEY_CMD"])


def s_key_cmd_failing(tmp: Path, home: Path) -> Setup:
    command = _printer(tmp, OTHER_SECRET + "\n", f"oops: {_damaged(TEST_SECRET)}\n", code=3)
    return Setup(clean_env(home, SOPS_AGE_KEY_CMD=command), ["SOPS_AGE_KEY_CMD"])


def s_default_file(tmp: Path, home: Path) -> Setup:
    path = _private_file(home / ".config" / "sops" / "age" / "keys.txt", _other_key_text())
    return Setup(clean_env(home), [str(path)])


def s_missing_file(tmp: Path, home: Path) -> Setup:
    path = tmp / "keys" / "no-such-keys.txt"
    return Setup(clean_env(home, SOPS_AGE_KEY_FILE=str(path)), [str(path)])


def s_malformed_file(tmp: Path, home: Path) -> Setup:
    lines = [
        "# created: 2026-01-01T00:00:00Z",
        "this is not a key",
        _damaged(TEST_SECRET),
        TEST_SECRET[:-5],
        "x" + TEST_SECRET,
        TEST_SECRET.lower()[:-1] + "=",
        "AGE-SECRET-KEY-PQ-1" + TEST_SECRET[len(SECRET_PREFIX):],
        "\t" + _damaged(OTHER_SECRET),
        "}{ ][ :: -- garbage ==",
    ]
    path = _private_file(tmp / "keys" / "garbage.txt", ("\n".join(lines) + "\n").encode())
    return Setup(clean_env(home, SOPS_AGE_KEY_FILE=str(path)), [str(path)])


def s_directory_file(tmp: Path, home: Path) -> Setup:
    path = tmp / "keys" / "a-directory"
    path.mkdir(parents=True)
    return Setup(clean_env(home, ENCFILE_AGE_KEY_FILE=str(path)), [str(path)])


def s_binary_file(tmp: Path, home: Path) -> Setup:
    data = b"\xff\xfe\x00garbage\n" + _damaged(TEST_SECRET).encode() + b"\n\x80\n"
    path = _private_file(tmp / "keys" / "binary.txt", data)
    return Setup(clean_env(home, SOPS_AGE_KEY_FILE=str(path)), [str(path)])


def s_ssh_variable(tmp: Path, home: Path) -> Setup:
    wrong = make_ssh_key(tmp / "ssh-wrong", "id_ed25519")
    return Setup(clean_env(home, SOPS_AGE_SSH_PRIVATE_KEY_FILE=str(wrong.path)),
                 [f"SOPS_AGE_SSH_PRIVATE_KEY_FILE={wrong.path}"], wrong.fragments)


def s_ssh_default(tmp: Path, home: Path) -> Setup:
    wrong = make_ssh_key(home / ".ssh", "id_ed25519")
    return Setup(clean_env(home), [str(wrong.path)], wrong.fragments)


SCENARIOS: dict[str, Callable[[Path, Path], Setup]] = {
    "no-source": s_no_source,
    "SOPS_AGE_KEY": s_sops_age_key,
    "ENCFILE_AGE_KEY-lowercase": s_encfile_age_key_lower,
    "SOPS_AGE_KEY_FILE": s_key_file,
    "ENCFILE_AGE_KEY_CMD": s_key_cmd,
    "SOPS_AGE_KEY_CMD-failing": s_key_cmd_failing,
    "default-file": s_default_file,
    "missing-file": s_missing_file,
    "malformed-file": s_malformed_file,
    "directory-file": s_directory_file,
    "binary-file": s_binary_file,
    "ssh-variable": s_ssh_variable,
    "ssh-default": s_ssh_default,
}


# -- commands ----------------------------------------------------------------------------------

def _touch(marker: Path) -> list[str]:
    """A child command that leaves a marker file when it runs."""
    return [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]


def command_argv(name: str, target: Path, marker: Path) -> tuple[list[str], dict[str, str]]:
    """(argv, extra environment) of one command run on the encrypted file."""
    if name == "decrypt":
        return ["-d", str(target)], {}
    if name == "decrypt-verbose":
        return ["-d", "--verbose", str(target)], {}
    if name == "exec":
        return ["exec", "-f", str(target), "--", *_touch(marker)], {}
    if name == "exec-file":
        return ["exec-file", str(target), "--", *_touch(marker), "{}"], {}
    if name == "edit":
        editor = shlex.join(_touch(marker))
        return ["edit", str(target)], {"EDITOR": editor, "VISUAL": editor}
    if name == "set":
        return ["set", str(target), SET_PATH, "1"], {}
    if name == "rotate":
        return ["rotate", "-i", str(target)], {}
    if name == "textconv":
        return ["git", "textconv", str(target)], {}
    raise AssertionError(name)


# Every scenario with the commands that start fast; the slower (typer) commands and the
# verbose run share the key-loading code with them, so they get a representative subset.
FAST_COMMANDS = ("decrypt", "exec", "exec-file", "textconv")
OTHER_COMMANDS = ("decrypt-verbose", "edit", "set", "rotate")
SUBSET = ("no-source", "SOPS_AGE_KEY", "ENCFILE_AGE_KEY_CMD", "default-file", "malformed-file",
          "ssh-variable")
CASES = [(s, c) for s in SCENARIOS for c in FAST_COMMANDS] + \
        [(s, c) for s in SUBSET for c in OTHER_COMMANDS]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("scenario", "command"), CASES)
def test_no_matching_identity(scenario: str, command: str, sample: Sample, tmp_path: Path,
                              home: Path) -> None:
    setup = SCENARIOS[scenario](tmp_path, home)
    marker = tmp_path / "child-ran"
    argv, extra = command_argv(command, sample.path, marker)
    before = _tree(sample.path.parent)
    result = run_encfile(*argv, env={**setup.env, **extra}, cwd=sample.path.parent)
    stderr = result.stderr.decode("utf-8", "replace")
    fragments = sample.fragments | setup.fragments
    assert_no_key_fragment(result.stdout, fragments, "stdout")
    assert_no_key_fragment(result.stderr, fragments, "stderr")
    assert "Traceback" not in stderr, stderr
    assert not marker.exists(), "the command or editor ran without the plaintext"
    assert _tree(sample.path.parent) == before, "the folder of the encrypted file changed"

    if command == "textconv":
        # git shows this in a diff: exit 0, the ciphertext unchanged, then the reason.
        assert result.returncode == 0, stderr
        assert result.stdout.startswith(sample.data)
        reason = result.stdout[len(sample.data):].decode()
        assert reason.count("\n") == 1 and reason.endswith("\n"), reason
        assert reason.startswith("encfile: ") and "decrypt" in reason, reason
        for canary in CANARIES:
            assert canary not in result.stdout.decode()
        return

    assert_cli_error(result, EXIT_NO_IDENTITY)
    for recipient in sample.recipients:
        assert recipient in stderr, f"recipient {recipient[:20]}… not listed:\n{stderr}"
    for marker_text in setup.markers:
        assert marker_text in stderr, f"source {marker_text!r} not named:\n{stderr}"
    for canary in CANARIES:
        assert canary not in stderr


@pytest.mark.parametrize("scenario", ["malformed-file", "SOPS_AGE_KEY_FILE", "no-source"])
def test_identities_listing_shows_no_private_key(scenario: str, sample: Sample, tmp_path: Path,
                                                 home: Path) -> None:
    """``encfile identities`` describes the same sources: public keys and notes only."""
    setup = SCENARIOS[scenario](tmp_path, home)
    for args in (["identities"], ["identities", "--json"]):
        result = run_encfile(*args, env=setup.env)
        assert result.returncode == 0, result.stderr
        assert_no_key_fragment(result.stdout + result.stderr,
                               sample.fragments | setup.fragments, " ".join(args))
        for marker_text in setup.markers:
            assert marker_text in result.stdout.decode(), result.stdout.decode()


# -- the library ---------------------------------------------------------------------------

def _everything_about(err: BaseException) -> str:
    parts = [str(err), repr(err), repr(err.args),
             "".join(traceback.format_exception(type(err), err, err.__traceback__))]
    for name in ("message", "hints", "recipients", "sources"):
        parts.append(repr(getattr(err, name, "")))
    cause = err.__cause__ or err.__context__
    while cause is not None:
        parts.append(repr(cause))
        cause = cause.__cause__ or cause.__context__
    return "\n".join(parts)


@pytest.mark.parametrize("identities", [
    [OTHER_SECRET],
    [_damaged(TEST_SECRET)],
    [TEST_SECRET[:-3], "garbage", OTHER_SECRET.lower()],
    [],
], ids=["other", "damaged", "mixed", "none"])
def test_library_no_identity_error(identities: list[str], sample: Sample,
                                   monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for var in [v for v in os.environ if v.startswith(("SOPS_", "ENCFILE_"))]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("ENCFILE_NO_KEYRING", "1")
    with pytest.raises(encfile.NoIdentityError) as info:
        encfile.decrypt(sample.data.decode(), format="yaml", identities=identities or None)
    err = info.value
    assert set(err.recipients) == set(sample.recipients)
    assert err.sources, "no identity source listed"
    assert_no_key_fragment(_everything_about(err), sample.fragments, "NoIdentityError")
    for canary in CANARIES:
        assert canary not in _everything_about(err)


# -- Hypothesis: damaged copies of the right key in a key file -------------------------------

def _mutate(secret: str, edits: list[tuple[int, int, str]]) -> str:
    chars = list(secret)
    for kind, where, char in edits:
        i = where % (len(chars) + 1)
        if kind == 0 and i < len(chars):
            chars[i] = char
        elif kind == 1:
            chars.insert(i, char)
        elif chars and i < len(chars):
            del chars[i]
    return "".join(chars)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 200),
                             st.sampled_from(BECH32 + BECH32.upper() + "-1 \t=#")),
                   min_size=1, max_size=4),
    lower=st.booleans(),
    junk=st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]),
                          max_size=30), max_size=3),
)
def test_damaged_key_file_never_echoed(edits: list[tuple[int, int, str]], lower: bool,
                                       junk: list[str], sample: Sample, tmp_path: Path) -> None:
    damaged = _mutate(TEST_SECRET.lower() if lower else TEST_SECRET, edits)
    # An undamaged key (up to case, or surrounding blanks) is not this test's business.
    assume(damaged.strip().upper() != TEST_SECRET)
    # Junk cannot hold 12 characters of the key by chance, but make sure.
    assume(not any(f in "\n".join(junk).lower() for f in sample.fragments))
    home = tmp_path / "hyp-home"
    home.mkdir(exist_ok=True)
    keys = _private_file(tmp_path / "hyp-keys.txt",
                         "\n".join([*junk, damaged, *junk]).encode("utf-8"))
    result = run_encfile("-d", str(sample.path), env=clean_env(home,
                                                                SOPS_AGE_KEY_FILE=str(keys)))
    assert result.returncode == EXIT_NO_IDENTITY, result.stderr.decode()
    assert result.stdout == b""
    assert_no_key_fragment(result.stderr, sample.fragments, "stderr")


def test_key_command_stderr_not_echoed(sample: Sample, tmp_path: Path, home: Path) -> None:
    """A key command that fails with the real key on its stderr: encfile says it failed,
    and repeats none of what it printed."""
    command = _printer(tmp_path, "", f"{TEST_SECRET}\n{TEST_SECRET.lower()}\n", code=7)
    env = clean_env(home, ENCFILE_AGE_KEY_CMD=command)
    result = run_encfile("-d", str(sample.path), env=env)
    stderr = assert_cli_error(result, EXIT_NO_IDENTITY)
    assert "ENCFILE_AGE_KEY_CMD" in stderr
    assert_no_key_fragment(result.stderr, sample.fragments, "stderr")


def test_fragment_check_catches_a_leak() -> None:
    """The checker itself: a message holding a piece of the key, in any form, is caught."""
    frags = age_key_fragments(TEST_SECRET)
    body = TEST_SECRET[len(SECRET_PREFIX):]
    raw = _bech32_bytes(TEST_SECRET)
    for leak in (body[3:15], body[-12:].lower(), TEST_SECRET[5:17], raw.hex()[7:19],
                 base64.b64encode(b"\x00" + raw).decode()[10:22],
                 base64.urlsafe_b64encode(raw).decode().rstrip("=")[-12:]):
        with pytest.raises(AssertionError):
            assert_no_key_fragment(f"encfile: error: {leak} …", frags, "probe")
    assert_no_key_fragment(f"encfile: hint: {SECRET_PREFIX}… {TEST_PUBLIC}", frags, "probe")
    # The bech32 decoding above gives the real key: its X25519 public key is TEST_PUBLIC's.
    public = X25519PrivateKey.from_private_bytes(raw).public_key()
    assert public.public_bytes(serialization.Encoding.Raw,
                               serialization.PublicFormat.Raw) == _bech32_bytes(TEST_PUBLIC)
