"""Live interoperability with the real sops binary (and the age CLI).

encfile's promise: sops decrypts what encfile writes, encfile decrypts what sops writes.
sops reformats YAML on output (4-space indent, its own quoting), so these tests compare
*data* (parsed with ruamel.yaml's safe loader) or two ``sops decrypt`` outputs with each other;
the one text comparison is ``encfile -d`` against ``sops decrypt`` of a sops-made file, because
encfile mimics go-yaml's rendering there.

Every sops run gets a clean environment whose only identity is the committed test key.
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    KEY_FILE,
    OTHER_KEY_FILE,
    OTHER_PUBLIC,
    PLAIN,
    TEST_PUBLIC,
    TEST_SECRET,
    canon,
    clean_env,
    load_docs,
    run_encfile,
)

import encfile

pytestmark = pytest.mark.sops

PLAIN_FILES = sorted(PLAIN.glob("*.yaml"))
PLAIN_IDS = [p.name for p in PLAIN_FILES]
UNENCRYPTED_COMMENT_WARNING = "possibly unencrypted comment"


# -- helpers ----------------------------------------------------------------------------------

def sops(sops_bin: str, *args: str, env: dict[str, str], input: bytes | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sops_bin, *args], input=input, capture_output=True, env=env,
                          cwd=cwd, timeout=120)


def ok(proc: subprocess.CompletedProcess[bytes], what: str) -> str:
    """stdout as text, after checking the exit code (stderr in the message otherwise)."""
    assert proc.returncode == 0, (
        f"{what} exited {proc.returncode}:\n{proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode()


def sops_type_drift(x: Any) -> Any:
    """Apply sops's known lossy number handling to canon() data (see KNOWN_SOPS_DRIFT)."""
    if isinstance(x, dict):
        return {k: sops_type_drift(v) for k, v in x.items()}
    if isinstance(x, list):
        return [sops_type_drift(v) for v in x]
    if isinstance(x, tuple) and x[0] == "float" and x[1] != "nan" and math.isfinite(x[1]) \
            and x[1] == int(x[1]):
        return ("int", int(x[1]))
    if isinstance(x, tuple) and x[0] == "int" and not -2**63 <= x[1] < 2**63:
        return ("float", float(x[1]))
    return x


def resolve_merges(x: Any) -> Any:
    """Apply YAML 1.1 merge keys (``<<``) the way ruamel's safe loader does.

    encfile's ``.data()`` keeps ``<<`` as an ordinary key (as sops's own tree does), while sops
    writes it back as ``!!merge <<:`` and the safe loader then merges; both describe the same
    document, so the merge is applied to encfile's data before comparing."""
    if isinstance(x, list):
        return [resolve_merges(v) for v in x]
    if not isinstance(x, dict):
        return x
    out: dict[Any, Any] = {}
    if "<<" in x:
        sources = x["<<"] if isinstance(x["<<"], list) else [x["<<"]]
        for src in reversed(sources):  # earlier sources win
            out.update(resolve_merges(src))
    for k, v in x.items():
        if k != "<<":
            out[k] = resolve_merges(v)
    return out


def comments(text: str) -> list[str]:
    """The ``# ...`` comments of a YAML text (the test snippets put '#' in comments only)."""
    return [m.group(1).rstrip() for m in re.finditer(r"(?:^|[ \t])(#.*)$", text, re.M)]


def encrypted_shape(text: str) -> list[Any]:
    """Each document without its ``sops`` block, with every leaf replaced by whether it is an
    ``ENC[...]`` token: two files with equal shapes encrypted exactly the same values."""
    def walk(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return isinstance(x, str) and x.startswith("ENC[AES256_GCM,")
    docs = []
    for doc in load_docs(text):
        assert isinstance(doc, dict) and "sops" in doc, "a document without sops metadata"
        docs.append(walk({k: v for k, v in doc.items() if k != "sops"}))
    return docs


def encfile_encrypt_cli(path: Path, *extra: str, env: dict[str, str],
                        recipients: str = TEST_PUBLIC) -> str:
    return ok(run_encfile("-e", "--age", recipients, *extra, str(path), env=env), "encfile -e")


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8", newline="")
    return p


def sops_can_encrypt(sops_bin: str, src: Path, tmp_path: Path, env: dict[str, str],
                     *extra: str, recipients: str = TEST_PUBLIC) -> Path:
    """sops's own encryption of src (a .yaml file in tmp_path); skip when sops refuses it."""
    proc = sops(sops_bin, "encrypt", "--age", recipients, *extra, str(src), env=env)
    if proc.returncode != 0:
        pytest.skip(f"sops cannot encrypt {src.name}: "
                    f"{proc.stderr.decode(errors='replace').strip().splitlines()[0]}")
    return write(tmp_path, "by-sops.yaml", proc.stdout.decode())


# -- encfile writes, sops reads ---------------------------------------------------------------

# Differences between encfile's data and what sops prints, caused by sops (go-yaml) alone:
#  * a float with no fractional part (``sci: 1.0e+3``, ``!!float 1``) is printed by go-yaml as
#    ``1000`` / ``1``, which reads back as an int;
#  * an integer beyond int64 (``big: 12345678901234567890``) only fits sops's float64, so it
#    comes back as ``1.2345678901234567e+19`` (sops cannot even encrypt such a file itself).
# Checked: in these files every other value, including NaN, infinities, times, octal/hex ints,
# and 1.1-style strings (yes/on), is equal with its exact type.
KNOWN_SOPS_DRIFT = {"scalars.yaml", "types.yaml", "tags.yaml"}


@pytest.mark.parametrize("src", PLAIN_FILES, ids=PLAIN_IDS)
def test_sops_decrypts_encfile_output_to_encfile_data(src: Path, sops_bin: str, tmp_path: Path,
                                                      env: dict[str, str]) -> None:
    enc = write(tmp_path, "by-encfile.yaml", encfile_encrypt_cli(src, env=env))
    out = ok(sops(sops_bin, "decrypt", str(enc), env=env), "sops decrypt of encfile's output")
    theirs = canon(load_docs(out))
    mine = encfile.open_encrypted(enc.read_text(encoding="utf-8"),
                                  identities=[TEST_SECRET]).data()
    if src.name == "toplevel-list.yaml":
        # sops's YAML tree must be a mapping: encfile puts a top-level list under `data:`
        # (as sops's binary store does); sops shows that wrapper, encfile's data() removes it.
        mine = [{"data": doc} for doc in mine]
    mine = canon(resolve_merges(mine))
    if src.name in KNOWN_SOPS_DRIFT:
        mine = sops_type_drift(mine)
    assert theirs == mine


@pytest.mark.parametrize("src", PLAIN_FILES, ids=PLAIN_IDS)
def test_sops_decrypts_encfile_output_like_its_own(src: Path, sops_bin: str, tmp_path: Path,
                                                   env: dict[str, str]) -> None:
    by_sops = sops_can_encrypt(sops_bin, src, tmp_path, env)
    enc = write(tmp_path, "by-encfile.yaml", encfile_encrypt_cli(src, env=env))
    theirs = ok(sops(sops_bin, "decrypt", str(by_sops), env=env), "sops round trip")
    ours = ok(sops(sops_bin, "decrypt", str(enc), env=env), "sops decrypt of encfile's output")
    assert canon(load_docs(ours)) == canon(load_docs(theirs))
    # Both are sops's rendering of its own tree: equal data gives equal text.
    assert ours == theirs


# -- sops writes, encfile reads ---------------------------------------------------------------

@pytest.mark.parametrize("src", PLAIN_FILES, ids=PLAIN_IDS)
def test_encfile_decrypts_sops_output(src: Path, sops_bin: str, tmp_path: Path,
                                      env: dict[str, str]) -> None:
    by_sops = sops_can_encrypt(sops_bin, src, tmp_path, env)
    expected = ok(sops(sops_bin, "decrypt", str(by_sops), env=env), "sops decrypt")
    got = ok(run_encfile("-d", str(by_sops), env=env), "encfile -d of sops's output")
    assert canon(load_docs(got)) == canon(load_docs(expected))
    # encfile renders a sops-made file the way go-yaml does: the very same text.
    assert got == expected


# -- options: two recipients, encrypted_regex, unencrypted_suffix ------------------------------

SUFFIX_SNIPPET = """\
api_key: secret
public_plain: visible
nested_plain:
  everything: below
  list:
    - stays
normal:
  deep_plain: clear
  deep: hidden
  items:
    - name: x
      token_plain: y
      token: z
"""

OPTION_CASES = {
    "two-recipients-regex": (
        (PLAIN / "multidoc.yaml").read_text(encoding="utf-8"),
        f"{TEST_PUBLIC},{OTHER_PUBLIC}",
        ("--encrypted-regex", "^(data|stringData)$"),
    ),
    "unencrypted-suffix": (SUFFIX_SNIPPET, TEST_PUBLIC, ("--unencrypted-suffix", "_plain")),
    "two-recipients-suffix": (SUFFIX_SNIPPET, f"{TEST_PUBLIC},{OTHER_PUBLIC}",
                              ("--unencrypted-suffix", "_plain")),
}


def _key_files(recipients: str) -> list[Path]:
    return [KEY_FILE, OTHER_KEY_FILE] if "," in recipients else [KEY_FILE]


@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_options_encfile_to_sops(case: str, sops_bin: str, tmp_path: Path, home: Path,
                                 env: dict[str, str]) -> None:
    text, recipients, extra = OPTION_CASES[case]
    src = write(tmp_path, "plain.yaml", text)
    by_sops = sops_can_encrypt(sops_bin, src, tmp_path, env, *extra, recipients=recipients)
    enc_text = encfile_encrypt_cli(src, *extra, env=env, recipients=recipients)
    enc = write(tmp_path, "by-encfile.yaml", enc_text)
    # The same values are encrypted, the same left in clear.
    assert encrypted_shape(enc_text) == encrypted_shape(by_sops.read_text(encoding="utf-8"))
    for key_file in _key_files(recipients):  # every recipient can decrypt, alone
        kenv = clean_env(home, SOPS_AGE_KEY_FILE=str(key_file))
        theirs = ok(sops(sops_bin, "decrypt", str(by_sops), env=kenv), "sops round trip")
        ours = ok(sops(sops_bin, "decrypt", str(enc), env=kenv),
                  f"sops decrypt of encfile's output with {key_file.name}")
        assert canon(load_docs(ours)) == canon(load_docs(theirs))
        assert ours == theirs


@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_options_sops_to_encfile(case: str, sops_bin: str, tmp_path: Path, home: Path,
                                 env: dict[str, str]) -> None:
    text, recipients, extra = OPTION_CASES[case]
    src = write(tmp_path, "plain.yaml", text)
    by_sops = sops_can_encrypt(sops_bin, src, tmp_path, env, *extra, recipients=recipients)
    for key_file in _key_files(recipients):
        kenv = clean_env(home, SOPS_AGE_KEY_FILE=str(key_file))
        expected = ok(sops(sops_bin, "decrypt", str(by_sops), env=kenv), "sops decrypt")
        got = ok(run_encfile("-d", str(by_sops), env=kenv),
                 f"encfile -d of sops's output with {key_file.name}")
        assert canon(load_docs(got)) == canon(load_docs(expected))
        assert got == expected


# -- the age CLI reads encfile's data-key blocks ----------------------------------------------

def test_age_cli_decrypts_encfile_data_key(age_bin: str, tmp_path: Path,
                                           env: dict[str, str]) -> None:
    enc_text = encfile.encrypt(SUFFIX_SNIPPET, recipients=[TEST_PUBLIC, OTHER_PUBLIC])
    entries = load_docs(enc_text)[0]["sops"]["age"]
    assert [e["recipient"] for e in entries] == [TEST_PUBLIC, OTHER_PUBLIC]
    keys = []
    for entry, key_file in zip(entries, [KEY_FILE, OTHER_KEY_FILE], strict=True):
        block = entry["enc"]
        assert block.startswith("-----BEGIN AGE ENCRYPTED FILE-----\n")
        armored = write(tmp_path, "key.age", block)
        proc = subprocess.run([age_bin, "-d", "-i", str(key_file), str(armored)],
                              capture_output=True, timeout=60, env=env)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        assert len(proc.stdout) == 32
        keys.append(proc.stdout)
    assert keys[0] == keys[1]  # one data key, wrapped for each recipient


# -- comments: encfile attaches comments to the same maps as go-yaml ---------------------------

# sops encrypts each comment with the key path of the map go-yaml attached it to as AAD; the
# snippets put comments where that attachment is not obvious. '#' appears in comments only.
COMMENT_SNIPPETS = {
    "before_first_key": "# top comment\na: 1\nb: 2\n",
    "between_keys": "a: 1\n# between a and b\nb: 2\n",
    "inline_after_value": "a: 1 # inline a\nb: two # inline b\n",
    "after_nested_block_col0": "outer:\n  inner: 1\n  deeper:\n    x: y\n"
                               "# after nested block, col 0\nnext: 2\n",
    "after_nested_block_col2": "outer:\n  inner: 1\n  deeper:\n    x: y\n"
                               "  # after deeper, col 2\n  sibling: 3\nlast: 4\n",
    "after_nested_block_col4": "outer:\n  deeper:\n    x: y\n"
                               "    # trailing inside deeper, col 4\nnext: 2\n",
    # a comment at the indentation of a finished nested block, followed by a dedent
    # (prometheus-community values.yaml has this shape: `# selector:` under `ipDualStack:`)
    "foot_of_nested_block_then_dedent": "a:\n  b:\n    d: 1\n  # foot of b, col 2\ne: 2\n",
    "foot_of_deeper_block_then_dedent": "a:\n  b:\n    c:\n      d: 1\n"
                                        "    # foot of c, col 4\n  e: 2\n",
    "head_of_nested_key": "db:\n  # head of user\n  user: admin\n  password: hunter2\n",
    "inside_list": "list:\n  # before first item\n  - a\n  # between items\n  - b\n",
    "list_inline": "list:\n  - a # after a\n  - b # after b\n",
    "list_of_maps": "items:\n  # before item one\n  - name: one\n    # inside item one\n"
                    "    value: 1\n  # before item two\n  - name: two\n    value: 2\n",
    "indentless_list": "list:\n# before indentless item\n- a\n# between indentless items\n"
                       "- b\nafter: x\n",
    "end_of_file": "a: 1\nb: 2\n# end of file\n",
    "end_of_file_nested": "a:\n  b:\n    c: 1\n    # last nested comment\n",
    "between_documents": "a: 1\n# end of doc one\n---\n# start of doc two\nb: 2\n",
    "comment_blocks_and_blank_lines": "# one\n# two\n\n# three after blank\na: 1\n",
    "deep_mixed": "a:\n  b:\n    - c: 1\n      # under c\n      d: 2\n    # after list item map\n"
                  "    - e\n  # after b\n  f: 3\n",
    "empty_value_then_comment": "a:\n# comment after empty value\nb: 1\n",
    "block_scalar_then_comment": "a: |\n  text\n# comment after block scalar\nb: 1\n",
    "flow_then_comment": "a: {x: 1, y: 2} # after flow\n# below flow\nb: [1, 2]\n",
    # sops cannot re-read its own output for this one (its warning fires on its own round trip)
    "after_flow_seq_in_nested_block": "a:\n  b:\n    c: [1, 2]\n    # after flow seq\n  e: 2\n",
}


@pytest.mark.parametrize("name", sorted(COMMENT_SNIPPETS))
def test_comments_sops_to_encfile(name: str, sops_bin: str, tmp_path: Path,
                                  env: dict[str, str]) -> None:
    text = COMMENT_SNIPPETS[name]
    src = write(tmp_path, "plain.yaml", text)
    by_sops = sops_can_encrypt(sops_bin, src, tmp_path, env)
    assert "type:comment]" in by_sops.read_text(encoding="utf-8")
    got = ok(run_encfile("-d", str(by_sops), env=env), "encfile -d of sops's output")
    assert "ENC[" not in got
    assert comments(got) == comments(text)
    sops_out = sops(sops_bin, "decrypt", str(by_sops), env=env)
    if UNENCRYPTED_COMMENT_WARNING not in sops_out.stderr.decode():
        assert got == ok(sops_out, "sops decrypt")


@pytest.mark.parametrize("name", sorted(COMMENT_SNIPPETS))
def test_comments_encfile_to_sops(name: str, sops_bin: str, tmp_path: Path,
                                  env: dict[str, str]) -> None:
    text = COMMENT_SNIPPETS[name]
    src = write(tmp_path, "plain.yaml", text)
    by_sops = sops_can_encrypt(sops_bin, src, tmp_path, env)
    own = sops(sops_bin, "decrypt", str(by_sops), env=env)
    if UNENCRYPTED_COMMENT_WARNING in own.stderr.decode():
        pytest.skip("sops cannot decrypt the comments of its own output here (a sops limit)")
    enc_text = encfile_encrypt_cli(src, env=env)
    assert all(c.startswith("#ENC[") for c in comments(enc_text)), "a comment left in clear"
    enc = write(tmp_path, "by-encfile.yaml", enc_text)
    proc = sops(sops_bin, "decrypt", str(enc), env=env)
    out = ok(proc, "sops decrypt of encfile's output")
    assert UNENCRYPTED_COMMENT_WARNING not in proc.stderr.decode(), (
        f"sops could not decrypt a comment of encfile's output (AAD mismatch):\n{out}")
    assert "ENC[" not in out
    assert sorted(comments(out)) == sorted(comments(text))
    assert out == own.stdout.decode()


def test_comment_moved_to_another_map_is_detected(sops_bin: str, tmp_path: Path,
                                                  env: dict[str, str]) -> None:
    """Control for the check above: sops does warn when a comment's AAD does not match."""
    enc_text = encfile.encrypt("a:\n  b: 1\n  # in a\nc: 2\n", recipients=TEST_PUBLIC)
    lines = enc_text.splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if line.lstrip().startswith("#ENC["))
    comment = lines.pop(i).lstrip()
    j = next(n for n, line in enumerate(lines) if line.startswith("c:"))
    lines.insert(j, comment)  # now at the top level, sealed for `a`
    moved = write(tmp_path, "moved.yaml", "".join(lines))
    proc = sops(sops_bin, "decrypt", str(moved), env=env)
    assert UNENCRYPTED_COMMENT_WARNING in proc.stderr.decode()
