"""Live interoperability with the real sops binary for JSON and dotenv (and the sops-made
binary-store fixtures).

Both directions:

* encfile writes, sops reads: ``sops decrypt`` of encfile's ciphertext must succeed (MAC
  included) and give the data of the plaintext. JSON is compared as data (ordered pairs,
  duplicates kept, every number as a float64 -- sops reads them so -- and lone surrogates as
  U+FFFD, as Go reads them). dotenv is compared as text: ``sops decrypt`` of encfile's file
  must print exactly what ``sops decrypt`` of sops's own encryption of the file prints. For a
  file sops cannot read in plain form (multi-line values, indented comments, lines of spaces,
  lines without ``=``) the file sops is given is the same file written the way sops can read
  it (``SOPS_FORM``), spelled out by hand;
* sops writes, encfile reads: ``encfile -d`` of a ``sops encrypt`` output prints exactly the
  bytes ``sops decrypt`` prints.

Also: files encrypted by sops in other projects (../shared/corpus/sops-made) decrypt to the
data in expected/, and the real-world files in ../shared/corpus/real/{json,dotenv} go both
ways. Every sops run gets a clean environment whose only identity is the one needed.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY_FILE, SHARED, TEST_PUBLIC, TEST_SECRET, clean_env, ok, run_encfile
from test_dotenv_codec import QUIRKS as DOTENV_QUIRKS
from test_json_codec import QUIRKS as JSON_QUIRKS

import encfile

pytestmark = [pytest.mark.sops, pytest.mark.filterwarnings("ignore::encfile.EncfileWarning")]

CORPUS = SHARED / "corpus"
SOPS_MADE = CORPUS / "sops-made"


# -- helpers ------------------------------------------------------------------------------------

def sops(sops_bin: str, *args: str, env: dict[str, str],
         input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sops_bin, *args], input=input, capture_output=True, env=env,
                          timeout=120)


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


_SURROGATE = re.compile("[\ud800-\udfff]")


def _go_string(s: str) -> str:
    return _SURROGATE.sub("\ufffd", s)


def _pairs(pairs: list[tuple[str, Any]]) -> Any:
    return ("obj", [(_go_string(k), v) for k, v in pairs])


def _strings(x: Any) -> Any:
    if isinstance(x, tuple) and x and x[0] == "obj":
        return ("obj", [(k, _strings(v)) for k, v in x[1]])
    if isinstance(x, list):
        return [_strings(v) for v in x]
    if isinstance(x, str):
        return _go_string(x)
    return x


def json_data(text: str | bytes) -> Any:
    """JSON as sops sees it: ordered pairs with duplicates, numbers as float64, strings as Go
    decodes them."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return _strings(json.loads(text.removeprefix("\ufeff"), object_pairs_hook=_pairs,
                               parse_int=float, parse_float=float))


def sops_encrypt(sops_bin: str, src: Path, fmt: str, env: dict[str, str]) -> bytes:
    return ok(sops(sops_bin, "encrypt", "--age", TEST_PUBLIC, "--input-type", fmt,
                   "--output-type", fmt, str(src), env=env), f"sops encrypt {src.name}")


def sops_decrypt(sops_bin: str, path: Path, fmt: str, env: dict[str, str]) -> bytes:
    return ok(sops(sops_bin, "decrypt", "--input-type", fmt, "--output-type", fmt, str(path),
                   env=env), f"sops decrypt {path.name}")


def encfile_encrypt(src: Path, fmt: str, env: dict[str, str]) -> bytes:
    result = run_encfile("-e", "--age", TEST_PUBLIC, "--input-type", fmt, str(src), env=env)
    return ok(result, f"encfile -e {src.name}")


def encfile_decrypt(path: Path, fmt: str, env: dict[str, str]) -> bytes:
    return ok(run_encfile("-d", "--input-type", fmt, str(path), env=env),
              f"encfile -d {path.name}")


# -- JSON: encfile writes, sops reads -------------------------------------------------------------

@pytest.mark.parametrize("name", list(JSON_QUIRKS))
def test_sops_reads_encfile_json(name: str, sops_bin: str, tmp_path: Path,
                                 env: dict[str, str]) -> None:
    text = JSON_QUIRKS[name]
    enc = write(tmp_path / "by-encfile.json",
                encfile.encrypt(text, recipients=TEST_PUBLIC, format="json"))
    out = sops_decrypt(sops_bin, enc, "json", env)
    assert json_data(out) == json_data(text)


NUMBERS = ["0", "-0", "1", "-1", "3.0", "1.50", "0.1", "1e-9", "1E+2", "2E-3", "5e0", "1e21",
           "1e20", "-1.5e-300", "1.7976931348623157e308", "5e-324", "0.30000000000000004",
           "123456789012345", "999999999999999", "1000000000000000", "9007199254740992",
           "9007199254740993", "9007199254740995", "9999999999999999", "-9007199254740993",
           "12345678901234567890", "18014398509481985", "123456789012345678",
           "0.000001", "1e-7", "100000000000000000000000", "4.35", "1234567890123456.7"]


@pytest.mark.parametrize("number", NUMBERS)
def test_sops_reads_encfile_number(number: str, sops_bin: str, tmp_path: Path,
                                   env: dict[str, str]) -> None:
    """Every spelling: sops's MAC (over float64's 'f' form) matches, and the value is equal."""
    text = '{"n": ' + number + ', "l": [' + number + "]}\n"
    enc = write(tmp_path / "n.json", encfile.encrypt(text, recipients=TEST_PUBLIC, format="json"))
    out = json.loads(sops_decrypt(sops_bin, enc, "json", env))
    assert float(out["n"]) == float(number) and float(out["l"][0]) == float(number)


def test_sops_reads_encfile_json_cli_and_options(sops_bin: str, tmp_path: Path,
                                                 env: dict[str, str]) -> None:
    """Through the CLI, with two recipients, and an ``_unencrypted`` key sops must leave be."""
    from conftest import OTHER_PUBLIC

    text = ('{\n\t"db": {"user": "u", "password_unencrypted": "visible", "port": 5432},\n'
            '\t"flags": [true, false, null, ""]\n}')
    src = write(tmp_path / "plain.json", text)
    result = run_encfile("-e", "--age", f"{TEST_PUBLIC},{OTHER_PUBLIC}", str(src), env=env)
    enc = write(tmp_path / "enc.json", ok(result, "encfile -e"))
    assert '"password_unencrypted": "visible"' in enc.read_text()
    assert json_data(sops_decrypt(sops_bin, enc, "json", env)) == json_data(text)
    other = clean_env(tmp_path / "home2", SOPS_AGE_KEY_FILE=str(KEY_FILE.parent
                                                                / "other-key.txt"))
    assert json_data(sops_decrypt(sops_bin, enc, "json", other)) == json_data(text)


# -- JSON: sops writes, encfile reads ---------------------------------------------------------------

SOPS_REFUSES_JSON = {"bom", "bom-compact"}  # Go's JSON decoder does not accept a BOM


@pytest.mark.parametrize("name", list(JSON_QUIRKS))
def test_encfile_reads_sops_json(name: str, sops_bin: str, tmp_path: Path,
                                 env: dict[str, str]) -> None:
    src = write(tmp_path / "plain.json", JSON_QUIRKS[name])
    if name in SOPS_REFUSES_JSON:
        assert sops(sops_bin, "encrypt", "--age", TEST_PUBLIC, str(src), env=env).returncode
        return
    by_sops = write(tmp_path / "by-sops.json", sops_encrypt(sops_bin, src, "json", env))
    expected = sops_decrypt(sops_bin, by_sops, "json", env)
    got = encfile.decrypt(by_sops.read_text(encoding="utf-8"), format="json",
                          identities=[TEST_SECRET])
    assert got.encode("utf-8") == expected


@pytest.mark.parametrize("name", ["indent-2", "numbers-as-written", "escapes-as-written"])
def test_encfile_cli_reads_sops_json(name: str, sops_bin: str, tmp_path: Path,
                                     env: dict[str, str]) -> None:
    src = write(tmp_path / "plain.json", JSON_QUIRKS[name])
    by_sops = write(tmp_path / "by-sops.json", sops_encrypt(sops_bin, src, "json", env))
    assert encfile_decrypt(by_sops, "json", env) == sops_decrypt(sops_bin, by_sops, "json", env)


# -- dotenv ------------------------------------------------------------------------------------

# The quirks sops cannot read in plain form, written as sops reads encfile's encryption of
# them: a multi-line value on one line with '\n', indented comments and lines without '=' as
# comments at the start of the line, lines of blanks (or a lone '\r') empty.
SOPS_FORM: dict[str, str] = {
    "crlf": '# c\r\nA=1\r\nB="two"\r\n\nC=\r\n',
    "multiline-double": 'PEM="-----BEGIN-----\\nabc\\ndef\\n-----END-----"\nNEXT=1\n',
    "multiline-single": "S='line one\\nline two'\nN=2\n",
    "multiline-backtick": "T=`a\\nb\\n`\nN=3\n",
    "multiline-escaped-quote": 'A="x \\" still\\ninside"\nB=1\n',
    "multiline-crlf": 'K="a\r\\nb"\r\nL=1\r\n',
    "multiline-with-equals-and-hash": 'A="x=1\\n# not a comment\\nY=2"\nB=1\n',
    "indented-comments": "# two spaces\nA=1\n# tab\n#four\n",
    "spaces-only-lines": "A=1\n\n\nB=2\n\n",
    "line-without-equals": "#JUSTTEXT\nA=1\n#more text here\n",
    "crlf-blank": "\n",
    "final-spaces-line-no-newline": "A=1\n",
    "final-cr-line-no-newline": "A=1\n",
    "spaces-only-file": "",
}


@pytest.mark.parametrize("name", list(DOTENV_QUIRKS))
def test_sops_reads_encfile_dotenv(name: str, sops_bin: str, tmp_path: Path,
                                   env: dict[str, str]) -> None:
    text = DOTENV_QUIRKS[name][0]
    enc = write(tmp_path / "by-encfile.env",
                encfile.encrypt(text, recipients=TEST_PUBLIC, format="dotenv"))
    ours = sops_decrypt(sops_bin, enc, "dotenv", env)
    plain = write(tmp_path / "plain.env", SOPS_FORM.get(name, text))
    by_sops = write(tmp_path / "by-sops.env", sops_encrypt(sops_bin, plain, "dotenv", env))
    theirs = sops_decrypt(sops_bin, by_sops, "dotenv", env)
    assert ours == theirs


@pytest.mark.parametrize("name", list(DOTENV_QUIRKS))
def test_encfile_reads_sops_dotenv(name: str, sops_bin: str, tmp_path: Path,
                                   env: dict[str, str]) -> None:
    plain = write(tmp_path / "plain.env", SOPS_FORM.get(name, DOTENV_QUIRKS[name][0]))
    by_sops = write(tmp_path / "by-sops.env", sops_encrypt(sops_bin, plain, "dotenv", env))
    expected = sops_decrypt(sops_bin, by_sops, "dotenv", env)
    got = encfile.decrypt(by_sops.read_text(encoding="utf-8"), format="dotenv",
                          identities=[TEST_SECRET])
    assert got.encode("utf-8") == expected


def test_dotenv_cli_both_ways(sops_bin: str, tmp_path: Path, env: dict[str, str]) -> None:
    text = ("# db settings\nexport DB_USER=admin\nDB_PASS=\"p@ss=word\" # rotate\nEMPTY=\n"
            "API_unencrypted=public\nLIST=a,b,c\n")
    src = write(tmp_path / ".env", text)
    enc = write(tmp_path / "enc.env", encfile_encrypt(src, "dotenv", env))
    assert b"\nAPI_unencrypted=public\n" in enc.read_bytes()
    by_sops = write(tmp_path / "by-sops.env", sops_encrypt(sops_bin, src, "dotenv", env))
    theirs = sops_decrypt(sops_bin, by_sops, "dotenv", env)
    assert sops_decrypt(sops_bin, enc, "dotenv", env) == theirs
    assert encfile_decrypt(by_sops, "dotenv", env) == theirs
    assert encfile_decrypt(enc, "dotenv", env) == text.encode()


# -- sops-made fixtures ------------------------------------------------------------------------------

def _manifest() -> dict[str, str]:
    path = SOPS_MADE / "MANIFEST.tsv"
    if not path.is_file():
        return {}
    with path.open(newline="") as f:
        return {row["local_path"]: row["notes"] for row in csv.DictReader(f, delimiter="\t")}


def _binary_codec_missing() -> bool:
    try:
        from encfile import formats

        formats.get("binary")
    except Exception:
        return True
    return False


BINARY_XFAIL = pytest.mark.xfail(_binary_codec_missing(), strict=False, reason="binary codec")

# (file, identity file, format, the expected/ file)
FIXTURES = [
    pytest.param("kustomize-controller/component/env.env", "kustomize-controller/keys/age.txt",
                 "dotenv", id="kustomize-component-env"),
    pytest.param("kustomize-controller/envs/env.env", "kustomize-controller/keys/age.txt",
                 "dotenv", id="kustomize-envs-env"),
    pytest.param("kustomize-controller/remote/env.env", "kustomize-controller/keys/age.txt",
                 "dotenv", id="kustomize-remote-env"),
    pytest.param("sops-pr1031/example.json", "sops-pr1031/keys.txt", "json",
                 id="sops-pr1031-example-json"),
    pytest.param("kustomize-controller/files/file.txt", "kustomize-controller/keys/age.txt",
                 "binary", id="kustomize-files-binary", marks=BINARY_XFAIL),
    pytest.param("sops-pr1031/example.txt", "sops-pr1031/keys.txt", "binary",
                 id="sops-pr1031-example-binary", marks=BINARY_XFAIL),
]


def sops_dotenv_pairs(text: str) -> dict[str, str]:
    """sops's reading of a dotenv text: key before the first '=', value after, '\\n' escapes."""
    out = {}
    for line in text.split("\n"):
        if not line or line.startswith("#"):
            continue
        key, eq, value = line.partition("=")
        assert eq, line
        out[key] = value.replace("\\n", "\n")
    return out


def expected_of(local_path: str) -> Any:
    name = local_path.replace("/", "__", 1).replace("/", "_") + ".json"
    return json.loads((SOPS_MADE / "expected" / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(("local_path", "key_file", "fmt"), FIXTURES)
def test_sops_made_fixture_decrypts_to_expected(local_path: str, key_file: str, fmt: str,
                                                shared: Path, tmp_path: Path) -> None:
    notes = _manifest().get(local_path, "")
    assert "VERIFIED" in notes, f"{local_path}: {notes!r}"
    fixture_env = clean_env(tmp_path, SOPS_AGE_KEY_FILE=str(SOPS_MADE / key_file))
    result = run_encfile("-d", str(SOPS_MADE / local_path), env=fixture_env)
    out = ok(result, f"encfile -d {local_path}")
    expected = expected_of(local_path)
    if fmt == "json":
        assert json.loads(out) == expected
        assert list(json.loads(out)) == list(expected)
    elif fmt == "dotenv":
        assert sops_dotenv_pairs(out.decode()) == expected
        data = encfile.load(SOPS_MADE / local_path, identities=[
            line for line in (SOPS_MADE / key_file).read_text().splitlines()
            if line.startswith("AGE-SECRET-KEY-")])
        assert data == expected
    else:
        assert out.decode("utf-8") == expected["data"]


@pytest.mark.parametrize(("local_path", "key_file", "fmt"), FIXTURES)
def test_sops_made_fixture_matches_sops(local_path: str, key_file: str, fmt: str,
                                        shared: Path, sops_bin: str, tmp_path: Path) -> None:
    """encfile -d prints the bytes sops -d prints for the same file (JSON ends in one line
    break, as sops 3.11 prints it, also where sops 3.7.1 wrote the file without one)."""
    fixture_env = clean_env(tmp_path, SOPS_AGE_KEY_FILE=str(SOPS_MADE / key_file))
    path = SOPS_MADE / local_path
    theirs = ok(sops(sops_bin, "decrypt", str(path), env=fixture_env), "sops decrypt")
    ours = ok(run_encfile("-d", str(path), env=fixture_env), "encfile -d")
    assert ours == theirs


# -- the shared corpus --------------------------------------------------------------------------------

def _real(folder: str, pattern: str) -> list[str]:
    path = CORPUS / "real" / folder
    return sorted(p.name for p in path.glob(pattern)) if path.is_dir() else []


REAL_JSON = _real("json", "*.json")
REAL_DOTENV = _real("dotenv", "*.env")

# sops cannot read these plain files: their quoted values run over several lines
MULTILINE_DOTENV = {"dotenvx__dotenvx__env.crlf.env", "motdotla__dotenv__env-multiline.env"}
SOPS_REFUSES_REAL_JSON = {"dotnet-architecture__eShopOnWeb__appsettings.json"}  # has a BOM


def sops_readable(text: str) -> str:
    """A dotenv text (without multi-line values) as sops reads encfile's encryption of it:
    indented comments and lines without '=' become comments at the start of their line,
    lines of blanks become empty."""
    out = []
    for line in text.split("\n"):
        stripped = line.lstrip(" \t")
        if line.strip(" \t\r") == "":
            out.append("")
        elif stripped.startswith("#"):
            out.append(stripped)
        elif "=" not in line:
            out.append("#" + line)
        else:
            out.append(line)
    return "\n".join(out)


@pytest.mark.parametrize("name", REAL_JSON)
def test_real_json_sops_reads_encfile(name: str, shared: Path, sops_bin: str, tmp_path: Path,
                                      env: dict[str, str]) -> None:
    src = CORPUS / "real" / "json" / name
    enc = write(tmp_path / "by-encfile.json", encfile_encrypt(src, "json", env))
    assert encfile_decrypt(enc, "json", env) == src.read_bytes()
    assert json_data(sops_decrypt(sops_bin, enc, "json", env)) == json_data(src.read_bytes())


@pytest.mark.parametrize("name", REAL_JSON)
def test_real_json_encfile_reads_sops(name: str, shared: Path, sops_bin: str, tmp_path: Path,
                                      env: dict[str, str]) -> None:
    src = CORPUS / "real" / "json" / name
    if name in SOPS_REFUSES_REAL_JSON:
        assert sops(sops_bin, "encrypt", "--age", TEST_PUBLIC, str(src), env=env).returncode
        return
    by_sops = write(tmp_path / "by-sops.json", sops_encrypt(sops_bin, src, "json", env))
    assert encfile_decrypt(by_sops, "json", env) == sops_decrypt(sops_bin, by_sops, "json", env)


@pytest.mark.parametrize("name", REAL_DOTENV)
def test_real_dotenv_sops_reads_encfile(name: str, shared: Path, sops_bin: str,
                                        tmp_path: Path, env: dict[str, str]) -> None:
    src = CORPUS / "real" / "dotenv" / name
    enc = write(tmp_path / "by-encfile.env", encfile_encrypt(src, "dotenv", env))
    assert encfile_decrypt(enc, "dotenv", env) == src.read_bytes()
    ours = sops_decrypt(sops_bin, enc, "dotenv", env)  # sops must read every one
    if name in MULTILINE_DOTENV:
        return  # sops cannot read the plain file to compare with
    plain = write(tmp_path / "plain.env", sops_readable(src.read_text(encoding="utf-8")))
    by_sops = write(tmp_path / "by-sops.env", sops_encrypt(sops_bin, plain, "dotenv", env))
    assert ours == sops_decrypt(sops_bin, by_sops, "dotenv", env)


@pytest.mark.parametrize("name", [n for n in REAL_DOTENV if n not in MULTILINE_DOTENV])
def test_real_dotenv_encfile_reads_sops(name: str, shared: Path, sops_bin: str,
                                        tmp_path: Path, env: dict[str, str]) -> None:
    src = CORPUS / "real" / "dotenv" / name
    plain = write(tmp_path / "plain.env", sops_readable(src.read_text(encoding="utf-8")))
    by_sops = write(tmp_path / "by-sops.env", sops_encrypt(sops_bin, plain, "dotenv", env))
    assert encfile_decrypt(by_sops, "dotenv", env) == sops_decrypt(sops_bin, by_sops, "dotenv",
                                                                   env)
