"""No secret in any message, and no plaintext left in any file, on every failure path.

Canary values (high-entropy strings no message could hold by chance) sit in encrypted
YAML and JSON files. Every failure path below is driven through the CLI, as a user
would (a subprocess, real files, a clean environment whose TMPDIR and XDG_RUNTIME_DIR
are private folders of the test), once plain and once with ``--verbose`` where the
command has it. Then:

* the exit code is the documented one, and (without ``-v``) the error has its usual shape:
  nothing on stdout, one ``encfile: error:`` line, then only hints, no traceback;
* stdout and stderr hold no secret in any form: each canary raw (any 10-character piece,
  any case), in hex (any case), and in base64 (standard and urlsafe, padded or not, at the
  three byte alignments, any 16-character piece); likewise the file's data key, its
  decrypted MAC (the "computed MAC" of sops #1512, i.e. the SHA-512 of the plaintext), and
  any 12-character piece of the private key;
* no file that is new or changed anywhere under the test's folders (home, work folder,
  TMPDIR, XDG_RUNTIME_DIR on tmpfs, new entries of /dev/shm) holds a canary in any of
  those forms, except the explicit output of a command that succeeded (there is none here).

Failure paths: a tampered value, swapped values, a value of the wrong type written with
the right key, a MAC mismatch (a removed value, a changed ``lastmodified``, a MAC
replaced by another valid one), the wrong identity, a malformed token, invalid YAML or
JSON around the encrypted values, ``--extract`` of a missing key, ``set`` on a bad path,
``--output-type dotenv`` of nested data, ``exec`` of a missing command, ``exec`` with two
keys colliding on one variable, ``exec-file`` of a missing command, ``rotate`` of a
tampered file, a merge conflict (``encfile git merge BASE OURS THEIRS PATH``), ``git
pre-commit`` of a staged plaintext file, ``status --check``, ``edit`` with
``EDITOR=false`` and with an editor that saves unparsable text, ``-d -o`` onto an
unwritable path and ``-d -o`` of a tampered file (no output file at all).

Fixed leaks kept as tests: a YAML alias name in a value position and an
out-of-range or beyond-float JSON number were echoed in messages. Also fixed: ``exec``
of a value holding a NUL byte ended in a traceback instead of an error.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest
from conftest import (
    KEY_FILE,
    OTHER_KEY_FILE,
    OTHER_SECRET,
    TEST_PUBLIC,
    TEST_SECRET,
    TOKEN_RE,
    assert_cli_error,
    b64_forms,
    clean_env,
    run_encfile,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from ruamel.yaml import YAML

import encfile

# High-entropy values: any piece of them in a message is a leak, not a coincidence.
C_USER = "uK7q2Zp9Wx4Rt8Lm3Nb6Vc1"
C_PASS = "pJd5Tf8Gh2Kl4Mn6Pq9Rs3V"
C_TOKEN = "tZx1Cv3Bn5Mq7We9Rt2Yu4I"
C_NOTE = "nHb8Gv6Fc4Dx2Sz0Aq9Wm7E"  # an encrypted comment
C_OURS = "oYt5Re3Wq1Pl9Ok7Ij5Uh3G"
C_THEIRS = "hMn2Bv4Cx6Zl8Kj0Hg2Fd4S"
C_NUMBER = "739182645019384756102938"  # digits: a numeric secret (account number, PIN…)
CANARIES = (C_USER, C_PASS, C_TOKEN, C_NOTE, C_OURS, C_THEIRS, C_NUMBER)

SAMPLE_YAML = f"""\
# {C_NOTE}
db:
  user: {C_USER}
  password: {C_PASS}
  port: 5432
api_token: {C_TOKEN}
"""
SAMPLE_JSON = (f'{{"db": {{"user": "{C_USER}", "password": "{C_PASS}"}}, '
               f'"api_token": "{C_TOKEN}"}}\n')

RAW_WINDOW, B64_WINDOW, KEY_WINDOW = 10, 16, 12
SECRET_PREFIX = "AGE-SECRET-KEY-1"


# -- every form of a secret --------------------------------------------------------------------

def _pieces(text: str, size: int) -> set[str]:
    return {text[i:i + size] for i in range(max(len(text) - size + 1, 1))}


@dataclass
class Needles:
    """Byte strings to look for: ``folded`` in lowercased output, ``exact`` as they are."""

    folded: set[bytes]
    exact: set[bytes]

    def __or__(self, other: Needles) -> Needles:
        return Needles(self.folded | other.folded, self.exact | other.exact)

    def find(self, blob: bytes) -> list[bytes]:
        low = blob.lower()
        return sorted({n for n in self.folded if n in low} | {n for n in self.exact if n in blob})


def needles_for(secret: bytes, *, raw_window: int = RAW_WINDOW) -> Needles:
    folded = {p.lower().encode("latin-1") for p in _pieces(secret.decode("latin-1"), raw_window)}
    folded |= {p.encode() for p in _pieces(secret.hex(), 2 * raw_window)}
    exact = set()
    for form in b64_forms(secret):
        exact |= {p.encode() for p in _pieces(form, B64_WINDOW)}
    return Needles(folded, exact)


def key_needles(secret: str) -> Needles:
    """Pieces of an age private key's text (not of the public ``AGE-SECRET-KEY-1`` prefix)."""
    pieces = {p for p in _pieces(secret, KEY_WINDOW) if p not in SECRET_PREFIX}
    return Needles({p.lower().encode() for p in pieces}, set())


CANARY_NEEDLES = Needles(set(), set())
for _c in CANARIES:
    CANARY_NEEDLES = CANARY_NEEDLES | needles_for(_c.encode())
KEY_NEEDLES = key_needles(TEST_SECRET) | key_needles(OTHER_SECRET)


class SecretLeak(AssertionError):
    """A secret was found (its own class, so a known leak's xfail cannot hide other failures)."""


def assert_clean(blob: bytes, needles: Needles, where: str) -> None:
    found = needles.find(blob)
    if found:
        raise SecretLeak(f"{where} holds secret text {found[:3]}:\n{blob[:3000]!r}")


# -- the workspace -------------------------------------------------------------------------------

@dataclass
class Workspace:
    root: Path
    work: Path
    home: Path
    runtime: Path
    env: dict[str, str]
    yaml_text: str
    json_text: str
    secrets: Needles  # canaries, the data key, the decrypted MAC, the private key

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path


def _metadata(text: str) -> dict:
    return YAML(typ="safe", pure=True).load(text)["sops"]


def data_key(text: str) -> bytes:
    """The file's data key, unwrapped with the test identity (independently of encfile)."""
    identity = pyrage.x25519.Identity.from_str(TEST_SECRET)
    for entry in _metadata(text)["age"]:
        if entry["recipient"] == TEST_PUBLIC:
            return pyrage.decrypt(entry["enc"].encode(), [identity])
    raise AssertionError("no stanza for the test key")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def make_token(key: bytes, plain: bytes, aad: str, kind: str) -> str:
    iv = os.urandom(32)
    sealed = AESGCM(key).encrypt(iv, plain, aad.encode())
    return f"ENC[AES256_GCM,data:{_b64(sealed[:-16])},iv:{_b64(iv)},tag:{_b64(sealed[-16:])}," \
           f"type:{kind}]"


def open_token(key: bytes, token: str, aad: str) -> bytes:
    m = TOKEN_RE.search(token)
    assert m is not None, token
    data, iv, tag = (base64.b64decode(m[g]) for g in ("data", "iv", "tag"))
    return AESGCM(key).decrypt(iv, data + tag, aad.encode())


def decrypted_mac(text: str) -> str:
    meta = _metadata(text)
    return open_token(data_key(text), meta["mac"], meta["lastmodified"]).decode()


def _secret_needles(text: str) -> Needles:
    key = data_key(text)
    mac = decrypted_mac(text)
    assert re.fullmatch(r"[0-9A-F]{128}", mac), mac
    return needles_for(key) | needles_for(mac.encode(), raw_window=24) | \
        needles_for(bytes.fromhex(mac))


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    home, work, tmp = tmp_path / "home", tmp_path / "work", tmp_path / "tmp"
    for folder in (home, work, tmp):
        folder.mkdir()
    shm = Path("/dev/shm")
    runtime = Path(tempfile.mkdtemp(prefix="encfile-leaktest-", dir=shm if shm.is_dir()
                                    else tmp_path))
    runtime.chmod(0o700)
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE), TMPDIR=str(tmp),
                    XDG_RUNTIME_DIR=str(runtime))
    yaml_text = encfile.encrypt(SAMPLE_YAML, recipients=TEST_PUBLIC, format="yaml")
    json_text = encfile.encrypt(SAMPLE_JSON, recipients=TEST_PUBLIC, format="json")
    secrets = (CANARY_NEEDLES | KEY_NEEDLES | _secret_needles(yaml_text)
               | _secret_needles(json_text))
    space = Workspace(tmp_path, work, home, runtime, env, yaml_text, json_text, secrets)
    space.write("secrets.enc.yaml", yaml_text)
    space.write("secrets.enc.json", json_text)
    try:
        yield space
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def _snapshot(ws: Workspace) -> dict[Path, bytes]:
    out: dict[Path, bytes] = {}
    for root in (ws.root, ws.runtime):
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                out[path] = path.read_bytes()
    return out


def _shm_entries() -> set[Path]:
    shm = Path("/dev/shm")
    return set(shm.iterdir()) if shm.is_dir() else set()


def assert_no_plaintext_files(ws: Workspace, before: dict[Path, bytes],
                              shm_before: set[Path]) -> None:
    after = _snapshot(ws)
    for path, data in after.items():
        if before.get(path) != data:
            assert_clean(data, ws.secrets, f"the new or changed file {path}")
    for entry in _shm_entries() - shm_before:
        # Other processes use /dev/shm too: read what is still there, skip what is gone.
        files = [str(entry)] if entry.is_file() else \
            [os.path.join(d, n) for d, _, names in os.walk(entry) for n in names]
        for name in files:
            try:
                with open(name, "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            assert_clean(data, ws.secrets, f"the new file {name}")


# -- tampering helpers ---------------------------------------------------------------------

def _line_with(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


def _token_of(text: str, key: str) -> str:
    line = _line_with(text, f"{key}:")
    m = TOKEN_RE.search(line)
    assert m is not None, line
    return m[0]


def flip_data(token: str) -> str:
    """One base64 character of the ciphertext changed; still canonical base64."""
    m = TOKEN_RE.search(token)
    assert m is not None and len(m["data"]) > 8
    data = m["data"]
    new = "A" if data[2] != "A" else "B"
    return token.replace(f"data:{data}", f"data:{data[:2]}{new}{data[3:]}")


# -- the failure paths ---------------------------------------------------------------------

Runner = Callable[[list[str]], subprocess.CompletedProcess[bytes]]


@dataclass
class FailurePath:
    """One failure path: ``prepare(ws)`` writes its files, then the runner it returns runs
    the command (with the verbose options given)."""

    prepare: Callable[[Workspace], Runner]
    code: int
    verbose: bool = True  # the command has -v
    usual_shape: bool = True  # stdout empty, one error line, hints
    after: Callable[[Workspace], None] | None = None


def cli(ws: Workspace, head: list[str], tail: list[str], *, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> Runner:
    """``encfile HEAD [-v] TAIL``, run later."""
    return lambda v: run_encfile(*head, *v, *tail, env=env or ws.env, cwd=cwd or ws.work)


def _tampered(ws: Workspace) -> Path:
    token = _token_of(ws.yaml_text, "password")
    return ws.write("t.enc.yaml", ws.yaml_text.replace(token, flip_data(token)))


def p_tampered_value(ws: Workspace) -> Runner:
    return cli(ws, ["-d"], [str(_tampered(ws))])


def p_swapped_values(ws: Workspace) -> Runner:
    a, b = _token_of(ws.yaml_text, "user"), _token_of(ws.yaml_text, "password")
    text = ws.yaml_text.replace(a, "@@A@@").replace(b, a).replace("@@A@@", b)
    return cli(ws, ["-d"], [str(ws.write("t.enc.yaml", text))])


def p_wrong_type(ws: Workspace) -> Runner:
    """Someone holding the key writes a valid token of type int whose plaintext is a canary."""
    token = make_token(data_key(ws.yaml_text), C_PASS.encode(), "db:port:", "int")
    text = ws.yaml_text.replace(_token_of(ws.yaml_text, "port"), token)
    return cli(ws, ["-d"], [str(ws.write("t.enc.yaml", text))])


def p_mac_value_removed(ws: Workspace) -> Runner:
    text = ws.yaml_text.replace(_line_with(ws.yaml_text, "port:") + "\n", "")
    return cli(ws, ["-d"], [str(ws.write("t.enc.yaml", text))])


def p_mac_lastmodified(ws: Workspace) -> Runner:
    line = _line_with(ws.yaml_text, "lastmodified:")
    text = ws.yaml_text.replace(line, line.split(":")[0] + ': "2001-02-03T04:05:06Z"')
    return cli(ws, ["-d"], [str(ws.write("t.enc.yaml", text))])


def p_mac_replaced(ws: Workspace) -> Runner:
    """A MAC that decrypts fine but is not the file's: the computed one must not be shown."""
    key, meta = data_key(ws.yaml_text), _metadata(ws.yaml_text)
    other = make_token(key, b"0" * 128, meta["lastmodified"], "str")
    text = ws.yaml_text.replace(meta["mac"], other)
    return cli(ws, ["-d"], [str(ws.write("t.enc.yaml", text))])


def p_wrong_identity(ws: Workspace) -> Runner:
    return cli(ws, ["-d"], ["secrets.enc.yaml"],
               env={**ws.env, "SOPS_AGE_KEY_FILE": str(OTHER_KEY_FILE)})


def p_malformed_token(ws: Workspace) -> Runner:
    token = _token_of(ws.yaml_text, "password")
    text = ws.yaml_text.replace(token, token.replace(",tag:", ",tg:"))
    return cli(ws, ["-d"], [str(ws.write("t.enc.yaml", text))])


def p_invalid_yaml(ws: Workspace) -> Runner:
    line = _line_with(ws.yaml_text, "password:")
    text = ws.yaml_text.replace(line, line + "\n  : - ] {")
    return cli(ws, ["-d"], [str(ws.write("t.enc.yaml", text))])


def p_invalid_json(ws: Workspace) -> Runner:
    text = ws.json_text.replace('"api_token":', '"api_token" ', 1)
    return cli(ws, ["-d"], [str(ws.write("t.enc.json", text))])


def p_extract_missing(ws: Workspace) -> Runner:
    return cli(ws, ["-d"], ["--extract", '["db"]["secret"]', "secrets.enc.yaml"])


def p_extract_into_value(ws: Workspace) -> Runner:
    return cli(ws, ["-d"], ["--extract", '["db"]["password"]["x"]', "secrets.enc.yaml"])


def p_unset_into_value(ws: Workspace) -> Runner:
    # (set there succeeds, as in sops: the value becomes a mapping)
    return cli(ws, ["unset"], ["secrets.enc.yaml", '["db"]["password"]["x"]'])


def p_set_not_json(ws: Workspace) -> Runner:
    # the secret given without JSON quotes: refused, and never echoed
    # (a mapping replaced by a value is no failure: sops does it too)
    return cli(ws, ["set"], ["secrets.enc.yaml", '["db"]["password"]', C_OURS])


def p_output_type_dotenv(ws: Workspace) -> Runner:
    return cli(ws, ["-d"], ["--output-type", "dotenv", "secrets.enc.yaml"])


def p_exec_missing(ws: Workspace) -> Runner:
    return cli(ws, ["exec"], ["-f", "secrets.enc.yaml", "--", "no-such-command-x7q", C_USER])


def p_exec_collision(ws: Workspace) -> Runner:
    text = encfile.encrypt(f"db:\n  password: {C_PASS}\ndb_password: {C_TOKEN}\n",
                           recipients=TEST_PUBLIC, format="yaml")
    ws.write("collide.enc.yaml", text)
    return cli(ws, ["exec"], ["-f", "collide.enc.yaml", "--", "true"])


def p_exec_file_missing(ws: Workspace) -> Runner:
    return cli(ws, ["exec-file"], ["secrets.enc.yaml", "--", "no-such-command-x7q", "{}"])


def p_rotate_tampered(ws: Workspace) -> Runner:
    return cli(ws, ["rotate"], ["-i", str(_tampered(ws))])


def _merge_files(ws: Workspace) -> tuple[Path, Path, Path]:
    def version(password: str) -> str:
        return encfile.encrypt(SAMPLE_YAML.replace(C_PASS, password), recipients=TEST_PUBLIC,
                               format="yaml")

    return (ws.write("merge/base", version(C_PASS)), ws.write("merge/ours", version(C_OURS)),
            ws.write("merge/theirs", version(C_THEIRS)))


def p_merge_conflict(ws: Workspace) -> Runner:
    files = [str(f) for f in _merge_files(ws)]
    return cli(ws, ["git", "merge"], [*files, "config/secrets.enc.yaml"])


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60,
                   env=clean_env(repo.parent / "home"))


def _staged_repo(ws: Workspace, text: str) -> Path:
    """A git repository whose staged secrets.enc.yaml (diff=encfile) holds ``text``."""
    repo = ws.work / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / ".gitattributes").write_text("*.enc.yaml diff=encfile\n")
    (repo / "secrets.enc.yaml").write_text(text)
    _git(repo, "add", ".gitattributes", "secrets.enc.yaml")
    return repo


def p_precommit_plaintext(ws: Workspace) -> Runner:
    return cli(ws, ["git", "pre-commit"], [], cwd=_staged_repo(ws, SAMPLE_YAML))


def p_status_check(ws: Workspace) -> Runner:
    ws.write("st/tampered.enc.yaml", _tampered(ws).read_text())
    ws.write("st/lastmod.enc.yaml", ws.yaml_text.replace(
        _line_with(ws.yaml_text, "lastmodified:"), '  lastmodified: "2001-02-03T04:05:06Z"'))
    ws.write("st/plain.enc.yaml", SAMPLE_YAML)
    ws.write("st/.sops.yaml", "creation_rules:\n  - path_regex: \\.enc\\.yaml$\n"
                              f"    age: {TEST_PUBLIC}\n")
    return cli(ws, ["status"], ["--check", str(ws.work / "st")])


def _editor_env(ws: Workspace, editor: str) -> dict[str, str]:
    return {**ws.env, "EDITOR": editor, "VISUAL": editor}


def _writer_editor(ws: Workspace, content: str) -> str:
    """An editor that saves ``content`` (every time it is started) and logs the path."""
    script = ws.root / "editor.py"
    log = ws.root / "editor.log"
    script.write_text("import sys\n"
                      f"open({str(log)!r}, 'a').write(sys.argv[-1] + '\\n')\n"
                      f"open(sys.argv[-1], 'w', encoding='utf-8').write({content!r})\n")
    return shlex.join([sys.executable, str(script)])


def p_edit_editor_false(ws: Workspace) -> Runner:
    return cli(ws, ["edit"], ["secrets.enc.yaml"], env=_editor_env(ws, "false"))


def p_edit_unparsable(ws: Workspace) -> Runner:
    editor = _writer_editor(ws, f'{{"db": {{"password": "{C_OURS}", "user": {C_THEIRS}}}\n')
    return cli(ws, ["edit"], ["secrets.enc.json"], env=_editor_env(ws, editor))


def p_output_unwritable(ws: Workspace) -> Runner:
    ws.write("not-a-folder", "x")
    return cli(ws, ["-d"], ["-o", "not-a-folder/out.yaml", "secrets.enc.yaml"])


def p_output_of_tampered(ws: Workspace) -> Runner:
    return cli(ws, ["-d"], ["-o", "out.yaml", str(_tampered(ws))])


def _ours_unchanged(ws: Workspace) -> None:
    ours = (ws.work / "merge" / "ours").read_text()
    assert "ENC[AES256_GCM" in ours and C_OURS not in ours


def _no_output_file(ws: Workspace) -> None:
    assert not (ws.work / "out.yaml").exists(), "a failed decryption created its output file"


PATHS: dict[str, FailurePath] = {
    "tampered-value": FailurePath(p_tampered_value, 25),
    "swapped-values": FailurePath(p_swapped_values, 25),
    "wrong-type-with-key": FailurePath(p_wrong_type, 25),
    "mac-value-removed": FailurePath(p_mac_value_removed, 51),
    "mac-lastmodified": FailurePath(p_mac_lastmodified, 51),
    "mac-replaced": FailurePath(p_mac_replaced, 51),
    "wrong-identity": FailurePath(p_wrong_identity, 128),
    "malformed-token": FailurePath(p_malformed_token, 25),
    "invalid-yaml-around": FailurePath(p_invalid_yaml, 2),
    "invalid-json-around": FailurePath(p_invalid_json, 2),
    "extract-missing-key": FailurePath(p_extract_missing, 1),
    "extract-into-value": FailurePath(p_extract_into_value, 1),
    "unset-into-value": FailurePath(p_unset_into_value, 1),
    "set-not-json": FailurePath(p_set_not_json, 7),
    "output-type-dotenv": FailurePath(p_output_type_dotenv, 4),
    "exec-missing-command": FailurePath(p_exec_missing, 127),
    "exec-colliding-names": FailurePath(p_exec_collision, 2),
    "exec-file-missing-command": FailurePath(p_exec_file_missing, 127),
    "rotate-tampered": FailurePath(p_rotate_tampered, 25),
    "merge-conflict": FailurePath(p_merge_conflict, 1, after=_ours_unchanged),
    "pre-commit-plaintext": FailurePath(p_precommit_plaintext, 1),
    "status-check": FailurePath(p_status_check, 1, verbose=False, usual_shape=False),
    "edit-editor-false": FailurePath(p_edit_editor_false, 1),
    "edit-unparsable": FailurePath(p_edit_unparsable, 1, usual_shape=False),
    "decrypt-output-unwritable": FailurePath(p_output_unwritable, 3),
    "decrypt-output-tampered": FailurePath(p_output_of_tampered, 25, after=_no_output_file),
}
CASES = [(name, verbose) for name, p in PATHS.items()
         for verbose in ((False, True) if p.verbose else (False,))]


@pytest.mark.parametrize(("name", "verbose"), CASES,
                         ids=[f"{n}{'-v' if v else ''}" for n, v in CASES])
def test_failure_path_leaks_nothing(name: str, verbose: bool, ws: Workspace) -> None:
    path = PATHS[name]
    run = path.prepare(ws)
    before, shm_before = _snapshot(ws), _shm_entries()
    result = run(["--verbose"] if verbose else [])
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == path.code, stderr
    assert "Traceback" not in stderr, stderr
    assert "encfile: error: " in stderr, stderr
    if path.usual_shape and not verbose:
        assert_cli_error(result, path.code)
    elif name != "status-check":
        assert result.stdout == b"", result.stdout[:500]
    assert_clean(result.stdout, ws.secrets, "stdout")
    assert_clean(result.stderr, ws.secrets, "stderr")
    assert_no_plaintext_files(ws, before, shm_before)
    if path.after is not None:
        path.after(ws)


def test_edit_unparsable_reports_each_round_without_values(ws: Workspace) -> None:
    """The edit loop shows the parse error, reopens the editor, then gives up: the file
    keeps its ciphertext and the temp folder on tmpfs is gone."""
    original = (ws.work / "secrets.enc.json").read_bytes()
    result = p_edit_unparsable(ws)([])
    assert result.returncode == 1
    assert result.stderr.decode().count("encfile: error: ") == 2, result.stderr.decode()
    assert (ws.work / "secrets.enc.json").read_bytes() == original
    edited = (ws.root / "editor.log").read_text().splitlines()
    assert len(edited) == 2 and all(Path(p).is_relative_to(ws.runtime) for p in edited), edited
    assert list(ws.runtime.iterdir()) == [], "the private temp folder was left behind"


def test_status_check_reports_each_problem(ws: Workspace) -> None:
    """``status --check`` says what is wrong with every file (so the leak check above looks at
    real problem text), in its report on stdout."""
    result = p_status_check(ws)([])
    report = result.stdout.decode()
    for name in ("tampered.enc.yaml", "lastmod.enc.yaml", "plain.enc.yaml"):
        line = _line_with(report, name)
        assert "--" in line or "PLAINTEXT" in line, report


# -- checking the checker ----------------------------------------------------------------------

@pytest.mark.parametrize("form", [
    "raw", "raw-piece", "upper", "hex", "HEX-piece", "b64", "b64-nopad-tail", "b64-shift1",
    "b64-shift2-urlsafe", "b64-piece"])
def test_needles_find_every_form(form: str) -> None:
    secret = C_PASS.encode()
    shown = {
        "raw": C_PASS,
        "raw-piece": C_PASS[5:15],
        "upper": C_PASS.upper(),
        "hex": secret.hex(),
        "HEX-piece": secret.hex().upper()[6:26],
        "b64": base64.b64encode(secret).decode(),
        "b64-nopad-tail": base64.b64encode(secret).decode().rstrip("=")[-16:],
        "b64-shift1": base64.b64encode(b"x" + secret + b"yz").decode(),
        "b64-shift2-urlsafe": base64.urlsafe_b64encode(b"xy" + secret).decode(),
        "b64-piece": base64.b64encode(b"xy" + secret).decode()[10:26],
    }[form]
    assert needles_for(secret).find(f"encfile: error: {shown} (line 3)".encode())
    assert not needles_for(secret).find(b"encfile: error: 'db:password' is malformed (line 3)")
    assert KEY_NEEDLES.find(f"x{TEST_SECRET[20:32].lower()}x".encode())
    assert not KEY_NEEDLES.find(f"hint: {SECRET_PREFIX}… {TEST_PUBLIC}".encode())


# -- known leaks ---------------------------------------------------------------------------------

def _alias_leak_encrypt(ws: Workspace) -> subprocess.CompletedProcess[bytes]:
    path = ws.write("plain.yaml", f"db:\n  password: *{C_PASS}\n")
    return run_encfile("-e", "--age", TEST_PUBLIC, str(path), env=ws.env, cwd=ws.work)


def _alias_leak_precommit(ws: Workspace) -> subprocess.CompletedProcess[bytes]:
    repo = _staged_repo(ws, f"db:\n  password: *{C_PASS}\n")
    return run_encfile("git", "pre-commit", env=ws.env, cwd=repo)


def _alias_leak_edit(ws: Workspace) -> subprocess.CompletedProcess[bytes]:
    editor = _writer_editor(ws, f"db:\n  password: *{C_PASS}\n")
    return run_encfile("edit", "secrets.enc.yaml", env=_editor_env(ws, editor), cwd=ws.work)


@pytest.mark.parametrize("run", [_alias_leak_encrypt, _alias_leak_precommit, _alias_leak_edit],
                         ids=["encrypt", "pre-commit", "edit"])
def test_undefined_alias_value_not_echoed(
        run: Callable[[Workspace], subprocess.CompletedProcess[bytes]], ws: Workspace) -> None:
    result = run(ws)
    assert result.returncode != 0, result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()
    assert_clean(result.stdout + result.stderr, ws.secrets, "output")


def test_out_of_range_json_number_not_echoed(ws: Workspace) -> None:
    path = ws.write("plain.json", f'{{"account": {C_NUMBER * 14}}}\n')
    result = run_encfile("-e", "--age", TEST_PUBLIC, str(path), env=ws.env, cwd=ws.work)
    assert_cli_error(result, 2)
    assert_clean(result.stderr, ws.secrets, "stderr")


def test_big_json_integer_warning_shows_no_value(ws: Workspace) -> None:
    path = ws.write("plain.json", f'{{"account": {C_NUMBER}}}\n')
    result = run_encfile("-e", "--age", TEST_PUBLIC, str(path), env=ws.env, cwd=ws.work)
    assert result.returncode == 0, result.stderr.decode()
    assert_clean(result.stderr, ws.secrets, "stderr")


def test_exec_value_with_nul_is_a_clean_error(ws: Workspace) -> None:
    text = encfile.encrypt(f'token: "{C_TOKEN}\\0{C_USER}"\n', recipients=TEST_PUBLIC,
                           format="yaml")
    ws.write("nul.enc.yaml", text)
    result = run_encfile("exec", "-f", "nul.enc.yaml", "--", "true", env=ws.env, cwd=ws.work)
    assert_clean(result.stdout + result.stderr, ws.secrets, "output")
    assert result.returncode != 0
    assert_cli_error(result, result.returncode)  # one error line, no traceback
