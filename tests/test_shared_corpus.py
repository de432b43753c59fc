"""encfile against the team's shared corpus (../shared/corpus, read only).

* real/yaml/: real-world YAML files round-trip byte for byte; with sops installed, sops and
  encfile read each other's encryption of them;
* sops-made/: files encrypted by sops (3.7 - 3.10) in other projects decrypt, with their
  committed age keys, to exactly the data in sops-made/expected/;
* conformance/yaml-test-suite/: encfile round-trips every input byte for byte or refuses it
  with an EncfileError, never anything else; plain mapping documents must round-trip.

Temporary files go to pytest's tmp_path; nothing is ever written under ../shared.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    KEY_FILE,
    SHARED,
    TEST_PUBLIC,
    TEST_SECRET,
    canon,
    clean_env,
    load_docs,
    run_encfile,
)
from ruamel.yaml import YAML
from ruamel.yaml import events as ev

import encfile

pytestmark = [pytest.mark.shared,
              pytest.mark.filterwarnings("ignore::encfile.EncfileWarning")]

CORPUS = SHARED / "corpus"
REAL_YAML_DIR = CORPUS / "real" / "yaml"
SOPS_MADE = CORPUS / "sops-made"
YTS_DIR = CORPUS / "conformance" / "yaml-test-suite"

REAL_YAML = sorted(p.name for p in REAL_YAML_DIR.glob("*")) if REAL_YAML_DIR.is_dir() else []

UNENCRYPTED_COMMENT_WARNING = "possibly unencrypted comment"


def _silently(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", encfile.EncfileWarning)
        return fn(*args, **kwargs)


def comments(text: str) -> list[str]:
    return [m.group(1).rstrip() for m in re.finditer(r"(?:^|[ \t])(#.*)$", text, re.M)]


# -- real-world YAML: byte-exact round trip ----------------------------------------------------

@pytest.mark.parametrize("name", REAL_YAML)
def test_real_yaml_round_trip_byte_exact(name: str, shared: Path) -> None:
    raw = (shared / "corpus" / "real" / "yaml" / name).read_bytes()
    enc = _silently(encfile.encrypt, raw.decode("utf-8"), recipients=TEST_PUBLIC)
    assert "ENC[AES256_GCM," in enc
    out = encfile.decrypt(enc, identities=[TEST_SECRET])
    assert out.encode("utf-8") == raw


# -- real-world YAML: interop with sops --------------------------------------------------------

class SopsOracle:
    """sops's encryption of each corpus file and its decryption, computed once per module."""

    def __init__(self, sops_bin: str, workdir: Path, env: dict[str, str]) -> None:
        self.sops_bin, self.workdir, self.env = sops_bin, workdir, env
        self._enc: dict[str, tuple[Path | None, str]] = {}
        self._dec: dict[Path, subprocess.CompletedProcess[bytes]] = {}

    def run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([self.sops_bin, *args], capture_output=True, env=self.env,
                              timeout=120)

    def encrypted(self, name: str) -> Path:
        """sops's encryption of a corpus file; skips the test when sops refuses the file."""
        if name not in self._enc:
            proc = self.run("encrypt", "--age", TEST_PUBLIC, str(REAL_YAML_DIR / name))
            if proc.returncode == 0:
                path = self.workdir / f"sops-{Path(name).stem}.yaml"
                path.write_bytes(proc.stdout)
                self._enc[name] = (path, "")
            else:
                err = proc.stderr.decode(errors="replace").strip().splitlines()
                self._enc[name] = (None, err[0] if err else f"exit {proc.returncode}")
        path, reason = self._enc[name]
        if path is None:
            pytest.skip(f"sops cannot encrypt {name}: {reason}")
        return path

    def decrypt(self, path: Path) -> subprocess.CompletedProcess[bytes]:
        if path not in self._dec:
            self._dec[path] = self.run("decrypt", str(path))
        return self._dec[path]


@pytest.fixture(scope="module")
def oracle(sops_bin: str, shared: Path, tmp_path_factory: pytest.TempPathFactory) -> SopsOracle:
    work = tmp_path_factory.mktemp("sops-corpus")
    home = work / "home"
    home.mkdir()
    return SopsOracle(sops_bin, work, clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE)))


def _stdout(proc: subprocess.CompletedProcess[bytes], what: str) -> str:
    assert proc.returncode == 0, (
        f"{what} exited {proc.returncode}:\n{proc.stderr.decode(errors='replace')[-2000:]}")
    return proc.stdout.decode()


@pytest.mark.sops
@pytest.mark.slow
@pytest.mark.parametrize("name", REAL_YAML)
def test_real_yaml_encfile_decrypts_sops_output(name: str, oracle: SopsOracle) -> None:
    by_sops = oracle.encrypted(name)
    expected = _stdout(oracle.decrypt(by_sops), "sops decrypt")
    got = _stdout(run_encfile("-d", str(by_sops), env=oracle.env), "encfile -d of sops's output")
    assert canon(load_docs(got)) == canon(load_docs(expected))


def _encfile_encrypted(name: str, oracle: SopsOracle, tmp_path: Path) -> Path:
    text = (REAL_YAML_DIR / name).read_bytes().decode("utf-8")
    enc = tmp_path / "by-encfile.yaml"  # sops picks the format from the extension
    enc.write_text(_silently(encfile.encrypt, text, recipients=TEST_PUBLIC), encoding="utf-8",
                   newline="")
    return enc


@pytest.mark.sops
@pytest.mark.slow
@pytest.mark.parametrize("name", REAL_YAML)
def test_real_yaml_sops_decrypts_encfile_output(name: str, oracle: SopsOracle,
                                                tmp_path: Path) -> None:
    enc = _encfile_encrypted(name, oracle, tmp_path)
    # sops must read (and MAC-check) encfile's output even where it cannot encrypt the file.
    ours = _stdout(oracle.run("decrypt", str(enc)), "sops decrypt of encfile's output")
    by_sops = oracle.encrypted(name)  # skips when sops cannot encrypt the original
    theirs = _stdout(oracle.decrypt(by_sops), "sops round trip")
    assert canon(load_docs(ours)) == canon(load_docs(theirs))


@pytest.mark.sops
@pytest.mark.slow
@pytest.mark.parametrize("name", REAL_YAML)
def test_real_yaml_sops_decrypts_encfile_comments(name: str, oracle: SopsOracle,
                                                  tmp_path: Path) -> None:
    """sops recovers at least the comments of encfile's output it recovers of its own.

    sops warns "possibly unencrypted comment" for each comment it cannot decrypt because the
    comment's AAD (the path of the map go-yaml attached it to) differs; it also fails on a few
    comments of its own output, so the count is compared with its own round trip."""
    enc = _encfile_encrypted(name, oracle, tmp_path)
    by_sops = oracle.encrypted(name)
    own = oracle.decrypt(by_sops)
    theirs = _stdout(own, "sops round trip")
    proc = oracle.run("decrypt", str(enc))
    ours = _stdout(proc, "sops decrypt of encfile's output")
    ours_failed = proc.stderr.decode().count(UNENCRYPTED_COMMENT_WARNING)
    own_failed = own.stderr.decode().count(UNENCRYPTED_COMMENT_WARNING)
    def clear(text: str) -> set[str]:
        return {c for c in comments(text) if not c.startswith("#ENC[")}
    missing = sorted(clear(theirs) - clear(ours))
    assert ours_failed <= own_failed and not missing, (
        f"sops failed to decrypt {ours_failed} comments of encfile's output "
        f"({own_failed} of its own); plaintext comments missing: {missing[:10]}")


# -- sops-made fixtures from other projects ----------------------------------------------------

def _sops_made_yaml() -> list[str]:
    manifest = SOPS_MADE / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    # age-pq.yaml: a post-quantum (ML-KEM) recipient, which encfile (like age 1.1) lacks.
    return sorted(r["local_path"] for r in rows
                  if r["local_path"].endswith(".yaml") and not r["local_path"].endswith("-pq.yaml"))


SOPS_MADE_YAML = _sops_made_yaml()
SOPS_MADE_KEYS = {
    "helm-secrets": "helm-secrets/key.txt",
    "sops-nix": "sops-nix/age-keys.txt",
    "sops-pr1031": "sops-pr1031/keys.txt",  # two identities
    "kustomize-controller": "kustomize-controller/keys/age.txt",
    "kustomize-controller/global/secret.yaml": "kustomize-controller/keys/age-global.txt",
}


def _is_json_data(x: Any) -> bool:
    if isinstance(x, dict):
        return all(isinstance(k, str) and _is_json_data(v) for k, v in x.items())
    if isinstance(x, list):
        return all(_is_json_data(v) for v in x)
    return x is None or isinstance(x, (str, int, float, bool))


@pytest.mark.parametrize("rel", SOPS_MADE_YAML)
def test_sops_made_fixture_decrypts_to_expected(rel: str, shared: Path) -> None:
    base = shared / "corpus" / "sops-made"
    project, rest = rel.split("/", 1)
    key_file = base / SOPS_MADE_KEYS.get(rel, SOPS_MADE_KEYS[project])
    identities = [line.strip() for line in key_file.read_text(encoding="utf-8").splitlines()
                  if line.startswith("AGE-SECRET-KEY-")]
    assert identities, f"no identity in {key_file}"
    expected_file = base / "expected" / f"{project}__{rest.replace('/', '_')}.json"
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    docs = encfile.open_encrypted((base / rel).read_text(encoding="utf-8"),
                                  identities=identities, label=rel).data()
    data = docs[0] if len(docs) == 1 else docs
    assert _is_json_data(data), data
    assert canon(data) == canon(expected)


# -- yaml-test-suite ---------------------------------------------------------------------------

def _yts_index() -> dict[str, dict[str, str]]:
    index = YTS_DIR / "INDEX.tsv"
    if not index.is_file():
        return {}
    with index.open(newline="", encoding="utf-8") as fh:
        return {r["id"]: r for r in csv.DictReader(fh, delimiter="\t")}


YTS = _yts_index()
YTS_IDS = sorted(YTS)


def _events(text: str) -> list[Any]:
    try:
        return list(YAML().parse(text))
    except Exception:
        # ruamel's pure parser rejects a few inputs libyaml accepts; ask libyaml then.
        from ruamel.yaml.cyaml import CParser

        parser = CParser(text)
        out = []
        while True:
            event = parser.get_event()
            out.append(event)
            if isinstance(event, ev.StreamEndEvent):
                return out


def plain_mapping_documents(text: str) -> bool:
    """True when the stream has documents, each one a mapping, and every key in it (at any
    depth, in block or flow style) is a scalar: no alias, no collection as a key."""
    stack: list[list[Any]] = []  # [kind, items seen so far]
    docs = 0
    root_next = False
    for event in _events(text):
        if isinstance(event, ev.DocumentStartEvent):
            docs += 1
            root_next = True
            continue
        if isinstance(event, (ev.DocumentEndEvent, ev.StreamEndEvent, ev.StreamStartEvent)):
            continue
        if root_next:
            root_next = False
            if not isinstance(event, ev.MappingStartEvent):
                return False
        if isinstance(event, (ev.MappingEndEvent, ev.SequenceEndEvent)):
            stack.pop()
            if stack:
                stack[-1][1] += 1
            continue
        if stack and stack[-1][0] == "map" and stack[-1][1] % 2 == 0 \
                and not isinstance(event, ev.ScalarEvent):
            return False  # a key that is an alias or a collection
        if isinstance(event, ev.MappingStartEvent):
            stack.append(["map", 0])
        elif isinstance(event, ev.SequenceStartEvent):
            stack.append(["seq", 0])
        elif stack:
            stack[-1][1] += 1
    return docs > 0


def _round_trip_or_refusal(raw: bytes) -> bytes | encfile.EncfileError:
    """encfile's round trip of raw, or the EncfileError with which it refused to encrypt."""
    try:
        enc = _silently(encfile.encrypt, raw.decode("utf-8"), recipients=TEST_PUBLIC)
    except encfile.EncfileError as err:
        return err
    # Once encfile has written a file, it must read it back (no refusal at this point).
    return encfile.decrypt(enc, identities=[TEST_SECRET]).encode("utf-8")


@pytest.mark.parametrize("case", YTS_IDS)
def test_yaml_test_suite_round_trip_or_refusal(case: str, shared: Path) -> None:
    raw = (shared / "corpus" / "conformance" / "yaml-test-suite" / f"{case}.yaml").read_bytes()
    must_round_trip = YTS[case]["libyaml"] == "ok" and plain_mapping_documents(raw.decode())
    result = _round_trip_or_refusal(raw)  # any other exception type fails the test
    if isinstance(result, encfile.EncfileError):
        assert not must_round_trip, (
            f"encfile refused a plain mapping document: {type(result).__name__}: {result}")
        return
    assert result == raw


def test_yaml_test_suite_classifier_sanity(shared: Path) -> None:
    """The mapping-documents classifier is not vacuous (and not everything)."""
    strict = [c for c in YTS_IDS if YTS[c]["libyaml"] == "ok"
              and plain_mapping_documents((YTS_DIR / f"{c}.yaml").read_text(encoding="utf-8"))]
    assert 50 <= len(strict) < len([c for c in YTS_IDS if YTS[c]["libyaml"] == "ok"])
    assert plain_mapping_documents("a: 1\nb: {c: [d, {e: f}]}\n---\ng: h\n")
    for text in ("- a\n", "a: 1\n---\n- b\n", "&x a: 1\n*x : 2\n", "? [a]\n: b\n", "", "x\n",
                 "a:\n  ? {b: c}\n  : d\n"):
        assert not plain_mapping_documents(text), text


@pytest.fixture(scope="module")
def refused_cases(shared: Path) -> list[str]:
    refused = []
    for case in YTS_IDS:
        raw = (YTS_DIR / f"{case}.yaml").read_bytes()
        try:
            _silently(encfile.encrypt, raw.decode("utf-8"), recipients=TEST_PUBLIC)
        except encfile.EncfileError:
            refused.append(case)
    return refused


CLI_SAMPLE = 20


@pytest.mark.slow
@pytest.mark.parametrize("slot", range(CLI_SAMPLE))
def test_yaml_test_suite_cli_refusal_is_clean(slot: int, refused_cases: list[str],
                                              env: dict[str, str]) -> None:
    if slot >= len(refused_cases):
        pytest.skip("fewer refused inputs than sample slots")
    case = refused_cases[slot * len(refused_cases) // CLI_SAMPLE]  # spread over the ids
    proc = run_encfile("-e", "--age", TEST_PUBLIC, str(YTS_DIR / f"{case}.yaml"), env=env)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode != 0, case
    assert proc.stdout == b"", case
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert sum(line.startswith("encfile: error:") for line in lines) == 1, err
    assert all(line.startswith(("encfile: error:", "encfile: hint:")) for line in lines), err
