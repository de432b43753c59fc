"""JSONTestSuite (../shared/corpus/conformance/json-test-suite, read only) through encfile.

* every ``y_`` file whose top level is an object round-trips byte for byte;
* every other ``y_`` file (array, string, number ... at the top) is refused cleanly: sops needs
  a map at the top;
* every ``n_`` file is refused: ``InputError`` from the library, and from the CLI exit code 2,
  empty stdout, exactly one ``encfile: error:`` line, no traceback.

The whole set goes through the library and through the CLI's ``main`` in-process (the same
code path as the command, minus the interpreter start-up); a sample also runs as real
subprocesses. INDEX.tsv must list exactly the files present, with the verdicts of their names.
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import pytest
from conftest import SHARED, TEST_PUBLIC, TEST_SECRET, run_encfile

import encfile
from encfile import cli

pytestmark = pytest.mark.shared

SUITE = SHARED / "corpus" / "conformance" / "json-test-suite"
NAMES = sorted(p.name for p in SUITE.glob("*.json")) if SUITE.is_dir() else []
Y_FILES = [n for n in NAMES if n.startswith("y_")]
N_FILES = [n for n in NAMES if n.startswith("n_")]
EXIT_INPUT = 2

# Run as real subprocesses as well: the big and deep ones, bad UTF-8, NaN/Infinity (which
# Python's json accepts by default), and a few ordinary ones.
CLI_SAMPLE = [
    "n_structure_100000_opening_arrays.json", "n_structure_open_array_object.json",
    "n_array_a_invalid_utf8.json", "n_string_invalid_utf8_after_escape.json",
    "n_number_NaN.json", "n_number_infinity.json", "n_number_minus_infinity.json",
    "n_object_trailing_comma.json", "n_structure_trailing_#.json", "n_string_unescaped_tab.json",
    "n_object_single_quote.json", "n_structure_UTF8_BOM_no_data.json",
    "y_object_simple.json", "y_array_empty.json", "y_structure_lonely_string.json",
]


def read(name: str) -> bytes:
    return (SUITE / name).read_bytes()


def top_is_object(name: str) -> bool:
    return isinstance(json.loads(read(name).decode("utf-8")), dict)


def as_text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


@pytest.fixture(scope="module")
def suite(shared: Path) -> Path:
    return SUITE


def test_index_matches_the_files(suite: Path) -> None:
    with (suite / "INDEX.tsv").open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert sorted(r["name"] for r in rows) == NAMES
    for r in rows:
        assert r["expect"] == ("accept" if r["name"].startswith("y_") else "reject"), r
    assert len(Y_FILES) == 95 and len(N_FILES) == 188


def test_y_object_files_round_trip(suite: Path) -> None:
    objects = [n for n in Y_FILES if top_is_object(n)]
    assert len(objects) >= 10
    failures = []
    for name in objects:
        text = read(name).decode("utf-8")
        try:
            out = encfile.encrypt(text, recipients=TEST_PUBLIC, format="json")
            back = encfile.decrypt(out, format="json", identities=[TEST_SECRET])
        except encfile.EncfileError as err:
            failures.append((name, f"{type(err).__name__}: {err}"))
            continue
        if back != text:
            failures.append((name, "round trip", text, back))
        elif json.loads(out)["sops"]["mac"][:15] != "ENC[AES256_GCM,":
            failures.append((name, "no MAC"))
    assert not failures, failures


def test_y_non_object_files_are_refused(suite: Path) -> None:
    others = [n for n in Y_FILES if not top_is_object(n)]
    assert len(others) >= 50
    wrong = []
    for name in others:
        try:
            encfile.encrypt(read(name).decode("utf-8"), recipients=TEST_PUBLIC, format="json")
        except encfile.InputError as err:
            if "top level" not in str(err):
                wrong.append((name, str(err)))
        except Exception as err:
            wrong.append((name, f"{type(err).__name__}: {err}"))
        else:
            wrong.append((name, "accepted"))
    assert not wrong, wrong


def test_n_files_are_refused_by_the_library(suite: Path) -> None:
    wrong = []
    for name in N_FILES:
        text = as_text(read(name))
        if text is None:
            continue  # not UTF-8: the CLI tests below cover these (the library takes str)
        try:
            encfile.encrypt(text, recipients=TEST_PUBLIC, format="json")
        except encfile.InputError:
            pass
        except Exception as err:
            wrong.append((name, f"{type(err).__name__}: {err}"))
        else:
            wrong.append((name, "accepted"))
    assert not wrong, wrong


def run_cli_in_process(args: list[str], capsysbinary: pytest.CaptureFixture[bytes],
                       monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes, str]:
    """encfile.cli.main as the command runs it: (exit code, stdout, stderr)."""
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() replaces it
    code = 0
    try:
        cli.main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsysbinary.readouterr()
    return code, captured.out, captured.err.decode("utf-8", "replace")


def check_refusal(name: str, code: int, stdout: bytes, stderr: str) -> str | None:
    """None when the refusal follows the contract, else what is wrong."""
    lines = stderr.splitlines()
    if code != EXIT_INPUT:
        return f"exit {code}"
    if stdout:
        return f"stdout {stdout[:60]!r}"
    if "Traceback" in stderr:
        return "traceback"
    if not lines or not lines[0].startswith("encfile: error: "):
        return f"stderr {stderr[:200]!r}"
    if name.startswith("n_") and len(lines) != 1:
        return f"{len(lines)} stderr lines: {stderr[:200]!r}"
    if not all(line.startswith("encfile: hint: ") for line in lines[1:]):
        return f"stderr {stderr[:200]!r}"
    return None


def test_n_files_are_refused_by_the_cli_in_process(
        suite: Path, capsysbinary: pytest.CaptureFixture[bytes],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPS_AGE_RECIPIENTS", raising=False)
    monkeypatch.delenv("ENCFILE_NO_FAST_CLI", raising=False)
    wrong = []
    for name in N_FILES:
        code, out, err = run_cli_in_process(
            ["-e", "--age", TEST_PUBLIC, "--input-type", "json", str(SUITE / name)],
            capsysbinary, monkeypatch)
        problem = check_refusal(name, code, out, err)
        if problem:
            wrong.append((name, problem))
    assert not wrong, wrong


def test_y_non_object_files_are_refused_by_the_cli_in_process(
        suite: Path, capsysbinary: pytest.CaptureFixture[bytes],
        monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = []
    for name in (n for n in Y_FILES if not top_is_object(n)):
        code, out, err = run_cli_in_process(
            ["-e", "--age", TEST_PUBLIC, "--input-type", "json", str(SUITE / name)],
            capsysbinary, monkeypatch)
        problem = check_refusal(name, code, out, err)
        if problem:
            wrong.append((name, problem))
    assert not wrong, wrong


@pytest.mark.parametrize("name", CLI_SAMPLE)
def test_cli_subprocess_sample(name: str, suite: Path, tmp_path: Path,
                               env: dict[str, str]) -> None:
    assert name in NAMES
    # a neutral file name: the format must come from --input-type
    src = tmp_path / "input.data"
    src.write_bytes(read(name))
    result = run_encfile("-e", "--age", TEST_PUBLIC, "--input-type", "json", str(src), env=env)
    stderr = result.stderr.decode("utf-8", "replace")
    if name.startswith("y_") and top_is_object(name):
        assert result.returncode == 0, stderr
        enc = tmp_path / "input.enc"
        enc.write_bytes(result.stdout)
        back = run_encfile("-d", "--input-type", "json", str(enc), env=env)
        assert back.returncode == 0, back.stderr
        assert back.stdout == read(name)
        return
    problem = check_refusal(name, result.returncode, result.stdout, stderr)
    assert problem is None, (problem, stderr)
