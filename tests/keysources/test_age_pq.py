"""Post-quantum age keys (``age1pq1…``, ``AGE-SECRET-KEY-PQ-1…``): hybrid ML-KEM-768 + X25519.

pyrage writes and reads the age files; encfile's ``age-plugin-pq`` (``age_pq_plugin.py``)
makes and opens the ``mlkem768x25519`` stanzas with pyca/cryptography's HPKE. Checked:

* ``encfile keygen --pq`` writes the identity file age 1.3 and sops write, and sops uses it;
* sops 3.11 (which reads and writes these keys natively, through age 1.3) and encfile read
  each other's files, in every format, and mix PQ and classical recipients the same way;
* the plugin, spoken to directly, answers every C2SP CCTV hybrid vector as the spec says
  (a file key, nothing, or a stanza error), and the real ``age`` 1.1 CLI, which knows no
  PQ keys, uses it as a plugin both ways;
* PQ identities come from every identity source, and are tried in the first pass, but
  only for ``age1pq1`` recipients: an X25519 file never starts the plugin or imports its
  code (nor does ``import encfile``).
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import age_plugin_support as aps
import pytest
from conftest import (
    KEY_FILE,
    ROOT,
    SHARED,
    TEST_PUBLIC,
    TEST_SECRET,
    assert_cli_error,
    clean_env,
    run_encfile,
)

import encfile
from encfile.keysources import age, age_pq, bech32

PLAIN = "db:\n    password: hunter2\n"
ENCFILE = [sys.executable, "-m", "encfile"]
PLUGIN = [sys.executable, "-m", "encfile.keysources.age_pq_plugin"]
VECTORS = SHARED / "vectors" / "cctv-age"


class PQKey:
    def __init__(self) -> None:
        self.secret, self.public = age_pq.generate()

    def key_file(self, path: Path) -> Path:
        path.write_text(f"# public key: {self.public}\n{self.secret}\n")
        path.chmod(0o600)
        return path


@pytest.fixture
def pq_bin(tmp_path: Path) -> Path:
    return aps.install_pq(tmp_path / "plugins")


def env_with(home: Path, pq_bin: Path, **extra: str) -> dict[str, str]:
    env = clean_env(home, **extra)
    env["PATH"] = aps.plugin_path(pq_bin)
    return env


def encrypted_for(tmp_path: Path, *recipients: str, name: str = "s.enc.yaml") -> Path:
    aps.session_bin()  # age-plugin-pq for this process
    path = tmp_path / name
    path.write_text(encfile.encrypt(PLAIN, recipients=",".join(recipients)))
    return path


def log_lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


# -- keygen --pq ---------------------------------------------------------------------------------

@pytest.mark.sops
def test_keygen_pq_writes_the_identity_file_age_and_sops_use(sops_bin: str, tmp_path: Path,
                                                             home: Path, pq_bin: Path) -> None:
    env = env_with(home, pq_bin)
    keys = tmp_path / "keys.txt"
    made = run_encfile("keygen", "--pq", "-o", str(keys), env=env)
    assert made.returncode == 0, made.stderr
    created, public_line, secret = keys.read_text().splitlines()
    assert re.fullmatch(r"# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created)
    public = public_line.removeprefix("# public key: ")
    # age 1.3's sizes: a 32-byte seed (77 characters), a 1,216-byte key (1,959)
    assert re.fullmatch(r"AGE-SECRET-KEY-PQ-1[02-9AC-HJ-NP-Z]{58}", secret)
    assert re.fullmatch(r"age1pq1[02-9ac-hj-np-z]{1952}", public)
    assert made.stderr.decode() == f"Public key: {public}\n"
    assert keys.stat().st_mode & 0o777 == 0o600
    assert run_encfile("keygen", "-y", str(keys), env=env).stdout == f"{public}\n".encode()
    listed = run_encfile("identities", env={**env, "SOPS_AGE_KEY_FILE": str(keys)}).stdout
    assert f"{public}  (SOPS_AGE_KEY_FILE={keys})".encode() in listed
    assert secret.encode() not in listed
    # sops encrypts for the public key and opens the file with the key file; so does encfile
    plain = tmp_path / "s.yaml"
    plain.write_text(PLAIN)
    sops_env = {**env, "SOPS_AGE_KEY_FILE": str(keys)}
    by_sops = subprocess.run([sops_bin, "encrypt", "--age", public, str(plain)],
                             capture_output=True, env=sops_env, timeout=60)
    assert by_sops.returncode == 0, by_sops.stderr
    path = tmp_path / "s.enc.yaml"
    path.write_bytes(by_sops.stdout)
    back = subprocess.run([sops_bin, "decrypt", str(path)], capture_output=True, env=sops_env,
                          timeout=60)
    assert back.stdout == PLAIN.encode(), back.stderr
    assert run_encfile("-d", str(path), env=sops_env).stdout == PLAIN.encode()
    # a second key is appended, not written over
    again = run_encfile("keygen", "--pq", "-o", str(keys), env=env)
    assert again.returncode == 0 and keys.read_text().count("AGE-SECRET-KEY-PQ-1") == 2


def test_keygen_pq_to_stdout_and_its_conflicts(home: Path, pq_bin: Path) -> None:
    env = env_with(home, pq_bin)
    made = run_encfile("keygen", "--pq", env=env)
    lines = made.stdout.decode().splitlines()
    assert made.returncode == 0 and lines[2].startswith("AGE-SECRET-KEY-PQ-1")
    assert age_pq.recipient_of(age_pq.parse_identity(lines[2])) == lines[1][14:]
    assert_cli_error(run_encfile("keygen", "--pq", "-y", env=env), 8)


# -- sops interop ---------------------------------------------------------------------------------

@pytest.mark.sops
@pytest.mark.parametrize("fmt", list(aps.SAMPLES))
def test_sops_and_encfile_read_each_others_pq_files(fmt: str, sops_bin: str, tmp_path: Path,
                                                    home: Path, pq_bin: Path) -> None:
    key = PQKey()
    env = env_with(home, pq_bin, SOPS_AGE_KEY_FILE=str(key.key_file(tmp_path / "k.txt")))
    by_sops, by_encfile = aps.interop_both_ways(sops_bin, tmp_path, fmt, key.public, env)
    assert key.public in by_encfile and key.public in by_sops
    assert aps.stanza_types(by_encfile) == [["mlkem768x25519"]]
    assert aps.stanza_types(by_sops) == [["mlkem768x25519"]]


@pytest.mark.sops
def test_pq_and_classical_recipients_mix_as_sops_mixes_them(sops_bin: str, tmp_path: Path,
                                                            home: Path, pq_bin: Path) -> None:
    """``--age age1pq1…,age1…``: sops writes one entry per recipient, each its own age file
    (so age's rule against mixing post-quantum and classical stanzas in one file does not
    come up), and says nothing. encfile does the same; either identity opens either file."""
    key = PQKey()
    plain = tmp_path / "s.yaml"
    plain.write_text(PLAIN)
    env = env_with(home, pq_bin)
    both = f"{key.public},{TEST_PUBLIC}"
    by_sops = subprocess.run([sops_bin, "encrypt", "--age", both, str(plain)],
                             capture_output=True, env=env, timeout=60)
    by_encfile = run_encfile("-e", "--age", both, str(plain), env=env)
    assert by_sops.returncode == 0 and by_encfile.returncode == 0
    assert by_sops.stderr == b"" and by_encfile.stderr == b""
    assert aps.stanza_types(by_sops.stdout.decode()) == \
        aps.stanza_types(by_encfile.stdout.decode()) == [["mlkem768x25519"], ["X25519"]]
    for made, name in ((by_sops.stdout, "sops.enc.yaml"), (by_encfile.stdout, "ours.enc.yaml")):
        path = tmp_path / name
        path.write_bytes(made)
        for keys in (key.key_file(tmp_path / "pq.txt"), KEY_FILE):
            one = {**env, "SOPS_AGE_KEY_FILE": str(keys)}
            assert run_encfile("-d", str(path), env=one).stdout == PLAIN.encode(), (name, keys)
            back = subprocess.run([sops_bin, "decrypt", str(path)], capture_output=True,
                                  env=one, timeout=60)
            assert back.stdout == PLAIN.encode(), (name, keys, back.stderr)


# -- the plugin, spoken to directly ------------------------------------------------------------------

def _vector(path: Path) -> tuple[dict[str, list[str]], bytes]:
    head, _, body = path.read_bytes().partition(b"\n\n")
    fields: dict[str, list[str]] = {}
    for line in head.decode().split("\n"):
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    if fields.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    if fields.get("armored") == ["yes"]:
        lines = body.decode().strip().splitlines()
        body = base64.b64decode("".join(lines[1:-1]))
    return fields, body


def _stanzas(body: bytes) -> list[tuple[list[str], bytes]]:
    """The header's stanzas, bodies decoded leniently (judging them is the client's job)."""
    out = []
    lines = body.split(b"\n")
    i = 1
    while i < len(lines) and lines[i].startswith(b"-> "):
        words = lines[i][3:].decode("latin-1").split(" ")
        data = b""
        i += 1
        while i < len(lines):
            row = lines[i]
            i += 1
            data += base64.b64decode(row + b"=" * (-len(row) % 4)) if row else b""
            if len(row) < 64:
                break
        out.append((words, data))
    return out


Stanza = tuple[str, list[str], bytes]


def _speak(machine: str, commands: list[Stanza], program: list[str] = PLUGIN) -> list[Stanza]:
    """Run age-plugin-pq's ``machine`` with ``commands`` as phase 1, answer ``ok`` to each
    of its phase-2 commands, and return them (``done`` excluded)."""
    import io

    from encfile.keysources.age_pq_plugin import read_stanza, write_stanza

    sent = io.BytesIO()
    for tag, args, body in [*commands, ("done", [], b"")]:
        write_stanza(sent, tag, args, body)
    proc = subprocess.Popen([*program, f"--age-plugin={machine}"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(sent.getvalue())
    proc.stdin.flush()
    got = []
    try:
        while True:
            stanza = read_stanza(proc.stdout)  # type: ignore[arg-type]
            if stanza[0] == "done":
                break
            got.append(stanza)
            write_stanza(proc.stdin, "ok")  # type: ignore[arg-type]
    finally:
        proc.stdin.close()
        assert proc.wait(30) == 0, proc.stderr.read() if proc.stderr else b""
    return got


# Header failures outside the mlkem768x25519 stanza are the client's (pyrage's) to find; the
# plugin's answer to them: a file key (it gets the body already decoded), or nothing (the
# broken stanza is an X25519 one, which it ignores).
CLIENT_FAILURES = {"hybrid_not_canonical_body": "file-key", "hybrid_x25519_arg": None}
HYBRID = sorted(p.name for p in VECTORS.glob("*hybrid*")) if VECTORS.is_dir() else []


@pytest.mark.skipif(not HYBRID, reason="../shared/vectors/cctv-age not present")
@pytest.mark.parametrize("name", HYBRID)
def test_the_plugin_answers_each_cctv_hybrid_vector(name: str) -> None:
    fields, body = _vector(VECTORS / name)
    identities = [bech32.encode("AGE-PLUGIN-PQ-", age_pq.parse_identity(i))
                  for i in fields["identity"] if i.startswith("AGE-SECRET-KEY-PQ-1")]
    commands = [("add-identity", [i], b"") for i in identities]
    commands += [("recipient-stanza", ["0", *words], data) for words, data in _stanzas(body)]
    commands.insert(1, ("grease-x", ["y"], b"ignored"))  # unknown commands are ignored
    answers = _speak("identity-v1", commands)
    expect = fields["expect"][0]
    if expect == "success" or CLIENT_FAILURES.get(name, "") == "file-key":
        assert [(a[0], a[1]) for a in answers] == [("file-key", ["0"])], answers
        assert answers[0][2].hex() == fields["file key"][0]
    elif expect == "no match" or name in CLIENT_FAILURES:
        assert answers == []
    else:
        assert expect == "header failure"
        assert len(answers) == 1 and answers[0][:2] == ("error", ["stanza", "0", answers[0][1][2]])
        assert b"mlkem768x25519" in answers[0][2]


def test_recipient_v1_sends_the_postquantum_label_and_a_stanza_that_opens() -> None:
    key = PQKey()
    plugin_identity = bech32.encode("AGE-PLUGIN-PQ-", age_pq.parse_identity(key.secret))
    file_key = os.urandom(16)
    answers = _speak("recipient-v1", [("add-recipient", [key.public], b""),
                                      ("grease-1", [], b""), ("extension-labels", [], b""),
                                      ("wrap-file-key", [], file_key)])
    assert [a[:2] for a in answers[:1]] == [("labels", ["postquantum"])]
    (tag, args, body), = answers[1:]
    assert tag == "recipient-stanza" and args[:2] == ["0", "mlkem768x25519"]
    assert len(base64.b64decode(args[2] + "==")) == 1120 and len(body) == 32
    opened = _speak("identity-v1", [("add-identity", [plugin_identity], b""),
                                    ("recipient-stanza", args, body)])
    assert opened == [("file-key", ["0"], file_key)]
    # no label without the extension; a bad recipient is an error for that recipient
    answers = _speak("recipient-v1", [("add-recipient", [key.public], b""),
                                      ("wrap-file-key", [], file_key)])
    assert [a[0] for a in answers] == ["recipient-stanza"]
    broken = key.public[:-1] + ("q" if key.public[-1] != "q" else "p")
    answers = _speak("recipient-v1", [("add-recipient", [broken], b""),
                                      ("wrap-file-key", [], file_key)])
    assert [a[:2] for a in answers] == [("error", ["recipient", "0"])]


def test_the_real_age_cli_uses_encfiles_pq_plugin(age_bin: str, tmp_path: Path, home: Path,
                                                  pq_bin: Path) -> None:
    """age 1.1 knows no PQ keys: to it, age1pq1… is a plugin recipient, and the identity
    must be in plugin form (``age-plugin-pq -identity``, as age 1.3's own plugin)."""
    key = PQKey()
    env = env_with(home, pq_bin)
    converted = subprocess.run([str(pq_bin / "age-plugin-pq"), "-identity"],
                               input=key.secret.encode(), capture_output=True, env=env,
                               timeout=60)
    assert converted.returncode == 0, converted.stderr
    ids = tmp_path / "plugin-id.txt"
    ids.write_bytes(converted.stdout)
    assert converted.stdout.decode().startswith("AGE-PLUGIN-PQ-1")
    plain = os.urandom(100)
    made = subprocess.run([age_bin, "-a", "-r", key.public], input=plain, capture_output=True,
                          env=env, timeout=60)
    assert made.returncode == 0, made.stderr
    aps.session_bin()
    assert age.unwrap(made.stdout.decode(), age.parse_identities(key.secret).identities) == plain
    ours = age.wrap(plain[:32], key.public)
    back = subprocess.run([age_bin, "-d", "-i", str(ids)], input=ours.encode(),
                          capture_output=True, env=env, timeout=60)
    assert back.returncode == 0 and back.stdout == plain[:32], back.stderr
    other = tmp_path / "other.txt"
    other.write_text(bech32.encode("AGE-PLUGIN-PQ-", os.urandom(32)) + "\n")
    wrong = subprocess.run([age_bin, "-d", "-i", str(other)], input=ours.encode(),
                           capture_output=True, env=env, timeout=60)
    assert wrong.returncode != 0 and wrong.stdout == b""


# A cryptography built against an OpenSSL without ML-KEM (before 3.5): what encfile says.
NO_MLKEM = """
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import mlkem
def refuse(*args, **kwargs):
    raise UnsupportedAlgorithm("ML-KEM is not supported by this backend")
mlkem.MLKEM768PrivateKey.from_seed_bytes = refuse
mlkem.MLKEM768PublicKey.from_public_bytes = refuse
import sys
"""
WHY = "this build of the cryptography package has no ML-KEM-768"


def test_without_ml_kem_the_plugin_and_keygen_say_why(tmp_path: Path, home: Path) -> None:
    key = PQKey()
    program = [sys.executable, "-c", NO_MLKEM + "from encfile.keysources.age_pq_plugin "
               "import main\nsys.exit(main(sys.argv[1:]))"]
    answers = _speak("recipient-v1", [("add-recipient", [key.public], b""),
                                      ("wrap-file-key", [], os.urandom(16))], program)
    assert [a[:2] for a in answers] == [("error", ["internal"])] and WHY.encode() in answers[0][2]
    answers = _speak("identity-v1", [("add-identity", [bech32.encode(
        "AGE-PLUGIN-PQ-", age_pq.parse_identity(key.secret))], b""), (
        "recipient-stanza", ["0", "mlkem768x25519", age_pq.b64encode(bytes(1120))], bytes(32))],
        program)
    assert [a[:2] for a in answers] == [("error", ["internal"])]
    # encfile passes the plugin's reason on
    folder = tmp_path / "bin"
    folder.mkdir()
    launcher = folder / "age-plugin-pq"
    launcher.write_text(f"#!{sys.executable}\n{NO_MLKEM}\n"
                        "from encfile.keysources.age_pq_plugin import main\nsys.exit(main())\n")
    launcher.chmod(0o755)
    plain = tmp_path / "p.yaml"
    plain.write_text(PLAIN)
    env = clean_env(home, PATH=aps.plugin_path(folder))
    stderr = assert_cli_error(run_encfile("-e", "--age", key.public, str(plain), env=env), 1)
    assert stderr.startswith(f"encfile: error: age-plugin-pq could not wrap the data key for "
                             f"'{key.public[:16]}…': ") and WHY in stderr
    path = encrypted_for(tmp_path, key.public)
    stderr = assert_cli_error(run_encfile("-d", str(path), env={**env, "SOPS_AGE_KEY": key.secret}),
                              128)
    assert f"encfile: hint: tried age-plugin-pq: (internal) {WHY}" in stderr
    keygen = subprocess.run([sys.executable, "-c", NO_MLKEM + "import runpy\nsys.argv = "
                             "['encfile', 'keygen', '--pq']\nrunpy.run_module('encfile', "
                             "run_name='__main__')"], capture_output=True, env=env, timeout=60)
    stderr = assert_cli_error(keygen, 1)
    assert stderr.startswith(f"encfile: error: cannot make a post-quantum identity: {WHY}")


# -- identity sources and the two passes ------------------------------------------------------------

@pytest.mark.parametrize("source", ["SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "ENCFILE_AGE_KEY_FILE",
                                    "default key file", "SOPS_AGE_KEY_CMD"])
def test_a_pq_identity_from_each_source(source: str, tmp_path: Path, home: Path,
                                        pq_bin: Path) -> None:
    key = PQKey()
    path = encrypted_for(tmp_path, key.public)
    ids = key.key_file(tmp_path / "ids.txt")
    extra = {"SOPS_AGE_KEY_CMD": {source: f"cat {ids}"}, "SOPS_AGE_KEY": {source: key.secret},
             "default key file": {}}.get(source, {source: str(ids)})
    if source == "default key file":
        default = home / ".config" / "sops" / "age" / "keys.txt"
        default.parent.mkdir(parents=True)
        default.write_text(ids.read_text())
        default.chmod(0o600)
    log = tmp_path / "plugin.log"
    result = run_encfile("-d", str(path), env=env_with(home, pq_bin, **extra,
                                                       ENCFILE_TEST_PLUGIN_LOG=str(log)))
    assert result.returncode == 0, result.stderr
    assert result.stdout == PLAIN.encode()
    assert log_lines(log) == ["pq --age-plugin=identity-v1"]
    assert key.secret[19:50].encode() not in result.stderr


def test_a_pq_identity_from_the_os_keyring(tmp_path: Path, home: Path, pq_bin: Path) -> None:
    from test_age_plugins import in_keyring_session

    env = env_with(home, pq_bin)
    result = in_keyring_session("""
$ENCFILE keygen --pq --keyring 2> keygen.err
pub=$(sed -n 's/^Public key: //p' keygen.err)
printf 'db:\\n    password: hunter2\\n' > s.yaml
$ENCFILE -e --age "$pub" s.yaml > s.enc.yaml
$ENCFILE -d s.enc.yaml
""", env, home)
    assert result.returncode == 0, result.stderr
    assert result.stdout == PLAIN
    assert "AGE-SECRET-KEY-PQ" not in result.stderr


def test_pq_identities_open_a_pq_file_in_the_first_pass(tmp_path: Path, home: Path,
                                                        pq_bin: Path) -> None:
    """A key-file PQ identity is a software key: it opens the file before any command runs
    (the key command would leave a mark)."""
    key = PQKey()
    path = encrypted_for(tmp_path, key.public)
    mark = tmp_path / "command-ran"
    env = env_with(home, pq_bin, SOPS_AGE_KEY_FILE=str(key.key_file(tmp_path / "k.txt")),
                   SOPS_AGE_KEY_CMD=f"touch {mark}")
    result = run_encfile("-d", str(path), env=env)
    assert result.returncode == 0 and result.stdout == PLAIN.encode(), result.stderr
    assert not mark.exists()


def test_an_x25519_file_never_starts_the_plugin_or_loads_pq_code(tmp_path: Path, home: Path,
                                                                 pq_bin: Path) -> None:
    key = PQKey()
    plugin_key = aps.TestKey()
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{key.secret}\n{plugin_key.identity}\n{TEST_SECRET}\n")
    ids.chmod(0o600)
    log = tmp_path / "plugin.log"
    env = env_with(home, pq_bin, SOPS_AGE_KEY_FILE=str(ids), ENCFILE_TEST_PLUGIN_LOG=str(log))
    env["PATH"] = aps.plugin_path(aps.install(tmp_path / "test-plugin"), env["PATH"])
    path = tmp_path / "s.enc.yaml"
    path.write_text(encfile.encrypt(PLAIN, recipients=TEST_PUBLIC))
    code = ("import sys, runpy\nsys.argv = ['encfile', '-d', sys.argv[1]]\n"
            "try:\n    runpy.run_module('encfile', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "sys.stderr.write(' '.join(sorted(sys.modules)) + '\\n')\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            env=env, timeout=60)
    assert result.stdout == PLAIN.encode(), result.stderr
    loaded = set(result.stderr.decode().split())
    for module in ("encfile.keysources.age_pq", "encfile.keysources.age_pq_plugin",
                   "encfile.keysources.age_plugins",
                   "cryptography.hazmat.primitives.hpke",
                   "cryptography.hazmat.primitives.asymmetric.mlkem"):
        assert module not in loaded, module
    assert log_lines(log) == []  # neither plugin started
    # and with classical identities only, not even the Bech32 module
    env["SOPS_AGE_KEY_FILE"] = str(KEY_FILE)
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            env=env, timeout=60)
    assert result.stdout == PLAIN.encode()
    assert "encfile.keysources.bech32" not in result.stderr.decode().split()
    # import encfile loads none of it
    out = subprocess.run([sys.executable, "-c", "import sys, encfile; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, env=env, timeout=60).stdout.split()
    assert not {m for m in out if "age_pq" in m or "bech32" in m or m.endswith(".hpke")}


# -- clean errors -------------------------------------------------------------------------------

def test_a_malformed_pq_recipient_is_a_clean_error(tmp_path: Path, home: Path,
                                                   pq_bin: Path) -> None:
    key = PQKey()
    plain = tmp_path / "p.yaml"
    plain.write_text(PLAIN)
    env = env_with(home, pq_bin)
    for bad in (key.public[:-1] + ("q" if key.public[-1] != "q" else "p"),  # checksum
                bech32.encode("age1pq", os.urandom(100))):  # length
        stderr = assert_cli_error(run_encfile("-e", "--age", bad, str(plain), env=env), 1)
        assert stderr.splitlines()[0] == \
            f"encfile: error: invalid post-quantum age recipient '{bad[:16]}…'"


def test_a_damaged_pq_identity_is_reported_without_its_text(tmp_path: Path, home: Path,
                                                            pq_bin: Path) -> None:
    key = PQKey()
    path = encrypted_for(tmp_path, key.public)
    damaged = key.secret[:-3] + ("QQQ" if not key.secret.endswith("QQQ") else "PPP")
    env = env_with(home, pq_bin, SOPS_AGE_KEY=f"# a comment\n{damaged}")
    stderr = assert_cli_error(run_encfile("-d", str(path), env=env), 128)
    assert "tried SOPS_AGE_KEY: 0 identities (line 2: not a post-quantum age identity)" in stderr
    assert damaged[19:45] not in stderr


def test_pq_needs_age_plugin_pq_and_says_where_it_comes_from(tmp_path: Path,
                                                            home: Path) -> None:
    key = PQKey()
    path = encrypted_for(tmp_path, key.public)
    env = aps.without_plugins(clean_env(home, SOPS_AGE_KEY=key.secret))
    if any((Path(d) / "age-plugin-pq").exists() for d in env["PATH"].split(os.pathsep) if d):
        pytest.skip("an age-plugin-pq is installed on PATH")
    # as if run by a python whose folders hold no age-plugin-pq either
    nowhere = str(tmp_path / "empty")
    result = subprocess.run([sys.executable, "-c",
                             "import sys, runpy, sysconfig; sys.executable = sys.argv[1] + "
                             "'/python'; sysconfig.get_path = lambda *a, **k: sys.argv[1]; "
                             "sys.argv = ['encfile', '-d', sys.argv[2]]; "
                             "runpy.run_module('encfile', run_name='__main__')",
                             nowhere, str(path)], capture_output=True, env=env, timeout=60)
    stderr = assert_cli_error(result, 128)
    assert ("tried age-plugin-pq: not found on PATH (age-plugin-pq comes with encfile: "
            "reinstall encfile, or put the folder of its programs on PATH)") in stderr


def test_encfiles_own_plugin_is_found_beside_its_python(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """An encfile run by its full path from a virtual environment that is not activated:
    PATH has no age-plugin-pq, the interpreter's folder has. PATH is as it was after."""
    folder = aps.install_pq(tmp_path / "venv-bin")
    monkeypatch.setattr(sys, "executable", str(folder / "python"))
    monkeypatch.setenv("PATH", aps.ORIGINAL_PATH)
    if any((Path(d) / "age-plugin-pq").exists() for d in aps.ORIGINAL_PATH.split(os.pathsep)
           if d):
        pytest.skip("an age-plugin-pq is installed on PATH")
    key = PQKey()
    enc = age.wrap(b"k" * 32, key.public)
    assert os.environ["PATH"] == aps.ORIGINAL_PATH
    assert age.unwrap(enc, age.parse_identities(key.secret).identities) == b"k" * 32
    assert os.environ["PATH"] == aps.ORIGINAL_PATH


def test_the_age_plugin_pq_console_script_is_declared() -> None:
    """``age-plugin-pq`` must be on PATH wherever encfile is installed (pip, pipx): it is a
    console script of the package."""
    import importlib

    scripts = (ROOT / "pyproject.toml").read_text().split("[project.scripts]")[1].split("\n[")[0]
    assert callable(importlib.import_module("encfile.keysources.age_pq_plugin").main)
    assert 'age-plugin-pq = "encfile.keysources.age_pq_plugin:main"' in scripts.splitlines()
