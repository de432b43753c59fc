"""Fuzz encfile's parsers: only encfile's own typed errors may escape.

Targets (``python fuzz/fuzz_parsers.py --list``):

* ``parse-<fmt>`` for yaml, json, dotenv, ini, binary: the input bytes are decoded as the
  CLI decodes a file, then ``formats.get(fmt).parse(text)``, ``to_python()``,
  ``metadata_consistent()``, ``structure_problem()`` and, when the file has a sops block,
  ``metadata.Metadata.from_dict`` on it.
* ``token``: ``token.parse`` returns a :class:`Token` (which re-formats to an equal token)
  or raises ``MalformedToken``; ``token.open_quick`` never raises.
* ``config-yaml``: ``config_yaml.parse`` returns data or None, and whatever it answers
  agrees with ruamel (data and line numbers), as ``tests/test_config_yaml.py`` demands.
  The text is newline-translated first, as ``config.py`` reads it (text mode).
* ``config-load``: the whole ``.sops.yaml`` reader (``config._load`` on a real file, the
  ruamel fallback and the rule checks included): only ``ConfigError`` may escape.
* ``yaml-fast``: ``formats.yaml_fast.events`` returns events or None, and whatever it
  answers agrees with libyaml event by event, as ``tests/test_yaml_fast.py`` demands.
* ``decrypt-<fmt>``: ``encfile.decrypt`` with the committed test identity on mutations of
  encrypted files (sops-made vectors and encfile's own output).

The oracle everywhere: any exception other than :class:`encfile.EncfileError` (and its
subclasses; ``MalformedToken`` for ``token``) is a finding, as is a hang or a blown memory
limit. With atheris (``pip install atheris``) each target is a libFuzzer run; without it,
or with ``--hypothesis``, a hypothesis-driven loop mutates the same seeds for the same
targets. Crash inputs go to ``$FUZZ_FINDINGS`` (default ``/tmp/fuzz-findings``), never to
the repository. See fuzz/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"
SHARED = ROOT.parent / "shared"
FINDINGS = Path(os.environ.get("FUZZ_FINDINGS", "/tmp/fuzz-findings"))
CORPUS = Path(os.environ.get("FUZZ_CORPUS", os.path.join(tempfile.gettempdir(), "fuzz-corpus")))
FORMATS = ("yaml", "json", "dotenv", "ini", "binary")
EXTENSIONS = {"yaml": (".yaml", ".yml"), "json": (".json",), "dotenv": (".env",),
              "ini": (".ini", ".cfg"), "binary": (".bin", ".pem", ".txt")}
TARGET_NAMES = ([f"parse-{f}" for f in FORMATS] + ["token", "config-yaml", "config-load", "yaml-fast"]
                + [f"decrypt-{f}" for f in FORMATS])
MAX_SEED = 64 * 1024  # bigger seeds only slow the fuzzer down

os.environ.setdefault("ENCFILE_NO_KEYRING", "1")  # never the developer's OS keyring
for _name in list(os.environ):
    if _name.startswith(("SOPS_", "ENCFILE_AGE")):
        del os.environ[_name]  # the test identity is passed explicitly


def _import_encfile() -> None:
    """Import everything the targets touch (inside atheris's instrumentation, if active)."""
    global encfile, formats, token, metadata, config, config_yaml, yaml_fast, crypto, decode_text
    global EncfileError, TEST_SECRET, TEST_PUBLIC, CParser, YAML, YAMLError
    import encfile
    from encfile import config, config_yaml, crypto, formats, metadata, token
    from encfile._api import decode_text
    from encfile.errors import EncfileError
    from encfile.formats import yaml_fast

    for fmt in FORMATS:
        formats.get(fmt)
    from ruamel.yaml import YAML
    from ruamel.yaml.cyaml import CParser
    from ruamel.yaml.error import YAMLError

    import encfile.document
    import encfile.keysources.age  # pyrage

    key = (TESTDATA / "keys" / "test-key.txt").read_text()
    TEST_PUBLIC = key.split("# public key: ")[1].split()[0]
    TEST_SECRET = next(x for x in key.splitlines() if x.startswith("AGE-SECRET-KEY-"))


# -- oracles -------------------------------------------------------------------------------------

class Finding(AssertionError):
    """An oracle other than "typed errors only" failed (a differential disagreement)."""


def _text(data: bytes, fmt: str = "yaml") -> str | None:
    """The bytes as the CLI reads a file of this format; None where the CLI would refuse."""
    try:
        return decode_text(data, "input", binary=fmt == "binary")
    except EncfileError:
        return None


def target_parse(fmt: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        text = _text(data, fmt)
        if text is None:
            return
        try:
            doc = formats.get(fmt).parse(text)
            doc.to_python()
            if doc.metadata is not None:
                doc.metadata_consistent()
                doc.structure_problem()
                metadata.Metadata.from_dict(doc.metadata)
        except EncfileError:
            pass
    return run


_TOKEN_CIPHER = None


def target_token(data: bytes) -> None:
    global _TOKEN_CIPHER
    if _TOKEN_CIPHER is None:
        _TOKEN_CIPHER = crypto.Cipher(bytes(range(32)))
    text = data.decode("utf-8", "surrogateescape")
    try:
        tok = token.parse(text)
    except token.MalformedToken:
        tok = None
    if tok is not None:
        if not isinstance(tok, token.Token) or tok.type not in token.TOKEN_TYPES:
            raise Finding(f"parse returned {tok!r}")
        again = token.parse(token.format_token(*tok))
        if again != tok:
            raise Finding(f"re-formatted token parses differently: {tok!r} vs {again!r}")
    quick = token.open_quick(_TOKEN_CIPHER, text, b"k:")
    if quick is not None and tok is None:
        raise Finding("open_quick opened a token that parse refuses")


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return ("float", float(value))
    if isinstance(value, str):
        return str(value)
    tag = getattr(getattr(value, "tag", None), "value", None)
    if tag in ("tag:yaml.org,2002:value", "tag:yaml.org,2002:merge"):
        # ruamel reads a lone plain '=' or '<<' as a YAML 1.1 value/merge TaggedScalar;
        # config_yaml's string is what sops (go-yaml) reads: a known, harmless difference.
        return str(value.value)
    return ("other", type(value).__name__, str(value))


def _lines(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): (value.lc.key(k)[0], _lines(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [(value.lc.item(i)[0], _lines(v)) for i, v in enumerate(value)]
    return None


def target_config_yaml(data: bytes) -> None:
    text = _text(data)
    if text is None:
        return
    # config.py reads the file in text mode: universal newlines, so no '\r' reaches parse().
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    ours = config_yaml.parse(text)
    if ours is None:
        return
    try:
        theirs = YAML(typ="rt").load(text)
    except YAMLError as err:
        raise Finding(f"config_yaml accepted what ruamel refuses: {err}") from None
    except Exception:  # ruamel itself failing is not encfile's finding
        return
    theirs = {} if theirs is None else theirs
    if _plain(ours) != _plain(theirs):
        raise Finding(f"config_yaml and ruamel disagree: {_plain(ours)!r} vs {_plain(theirs)!r}")
    if isinstance(theirs, (dict, list)) and (theirs or not text.strip()) \
            and _lines(ours) != _lines(theirs):
        raise Finding("config_yaml and ruamel disagree on line numbers")


_CONFIG_DIR: str | None = None


def target_config_load(data: bytes) -> None:
    """The whole config reader on a real file: only ConfigError (an EncfileError) may escape."""
    global _CONFIG_DIR
    if _CONFIG_DIR is None:
        _CONFIG_DIR = tempfile.mkdtemp(prefix="fuzz-config-")
    path = os.path.join(_CONFIG_DIR, ".sops.yaml")
    with open(path, "wb") as handle:
        handle.write(data)
    with contextlib.suppress(EncfileError):
        config._load(path)


def _shape(event: object) -> tuple[object, ...]:
    s, e = event.start_mark, event.end_mark  # type: ignore[attr-defined]
    return (type(event).__name__, s.index, s.line, s.column, e.index, e.line, e.column,
            getattr(event, "value", None), getattr(event, "style", None) or "",
            getattr(event, "tag", None), getattr(event, "anchor", None),
            getattr(event, "implicit", None), bool(getattr(event, "flow_style", None)))


def target_yaml_fast(data: bytes) -> None:
    text = _text(data)
    if text is None:
        return
    ours = yaml_fast.events(text)
    if ours is None:
        return
    parser = CParser(text)
    theirs = []
    try:
        while True:
            event = parser.get_event()
            theirs.append(event)
            if type(event).__name__ == "StreamEndEvent":
                break
    except Exception:
        raise Finding("yaml_fast answered for text libyaml refuses") from None
    a, b = [_shape(e) for e in ours], [_shape(e) for e in theirs]
    if a != b:
        first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        raise Finding(f"yaml_fast and libyaml disagree at event {first}: "
                      f"{a[first:first + 1]} vs {b[first:first + 1]}")


def target_decrypt(fmt: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        text = _text(data, fmt)
        if text is None:
            return
        with contextlib.suppress(EncfileError):
            encfile.decrypt(text, format=fmt, identities=[TEST_SECRET])
    return run


def make_target(name: str) -> Callable[[bytes], None]:
    if name.startswith("parse-"):
        return target_parse(name[6:])
    if name.startswith("decrypt-"):
        return target_decrypt(name[8:])
    return {"token": target_token, "config-yaml": target_config_yaml,
            "config-load": target_config_load, "yaml-fast": target_yaml_fast}[name]


# -- seeds ---------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(rb"ENC\[[^\]\n]*\]")
_CONFIG_SEEDS = [
    b"",
    b"creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: age1abc\n",
    b"creation_rules:\n- path_regex: '.*\\.env$'\n  age: >-\n    age1abc\n",
    b'creation_rules:\n  - path_regex: "^secrets/.*"\n    age: "a,b"\n',
    b"creation_rules:\n  - path_regex: prod/.*\n    key_groups:\n      - age:\n          - x\n"
    b"      - age: [y]\n    shamir_threshold: 2\n",
    b"exec:\n  files: [a.enc.env, b.enc.yaml]\nmax_age: 90  # days\n",
    b"a: it's\nb: 'it''s'\nc: \"tab\\there \\\"q\\\" \\\\ \\/\"\nd: x#y\ne: ~\nf:\ng: null\n",
    b"a: True\nb: FALSE\nc: yes\nd: off\ne: -5\nf: +7\ng: 0\nh: [ ]\ni: [a, b,]\n",
    b"creation_rules:\r\n  - path_regex: x\r\n    age: y\r\n",
    b"- a\n- b: 1\n  c: 2\n-\n  - nested\n-\n",
]


def _files(exts: tuple[str, ...], *dirs: Path) -> list[Path]:
    out: list[Path] = []
    for d in dirs:
        if d.is_dir():
            out += [p for p in sorted(d.rglob("*")) if p.is_file() and p.name.endswith(exts)]
    return out


def _read(paths: list[Path]) -> list[bytes]:
    return [p.read_bytes() for p in paths if p.stat().st_size <= MAX_SEED]


def _encrypted_by_encfile(fmt: str) -> list[bytes]:
    out = []
    for path in _files(EXTENSIONS[fmt], TESTDATA / "plain", TESTDATA / "demo"):
        try:
            text = decode_text(path.read_bytes(), "seed", binary=fmt == "binary")
            out.append(encfile.encrypt(text, recipients=TEST_PUBLIC, format=fmt).encode(
                "utf-8", "surrogateescape"))
        except EncfileError:
            pass
    return out


def seeds(name: str) -> list[bytes]:
    corpus = SHARED / "corpus"
    if name.startswith("parse-"):
        fmt = name[6:]
        found = _read(_files(EXTENSIONS[fmt], TESTDATA, corpus))
    elif name.startswith("decrypt-"):
        fmt = name[8:]
        exts = tuple(".enc" + e for e in EXTENSIONS[fmt])
        found = _read(_files(exts, TESTDATA / "sops")) + _encrypted_by_encfile(fmt)
        if fmt == "yaml":
            found += _read(_files(EXTENSIONS[fmt], corpus / "sops-made"))
    elif name == "token":
        found = sorted({m.group(0) for blob in _read(_files((".yaml", ".json", ".env", ".ini",
                                                               ".bin", ".pem"), TESTDATA / "sops"))
                        for m in _TOKEN_RE.finditer(blob)})[:200]
    elif name in ("config-yaml", "config-load"):
        found = _CONFIG_SEEDS + _read(_files((".sops.yaml", ".encfile.yaml"), TESTDATA, corpus))
    elif name == "yaml-fast":
        found = _read(_files((".yaml", ".yml"), TESTDATA, corpus))
    else:
        raise SystemExit(f"unknown target {name!r}; see --list")
    return found or [b""]


def write_corpus(name: str) -> Path:
    directory = CORPUS / name
    directory.mkdir(parents=True, exist_ok=True)
    for blob in seeds(name):
        path = directory / hashlib.sha1(blob).hexdigest()
        if not path.exists():
            path.write_bytes(blob)
    return directory


def signature(err: BaseException) -> str:
    """Exception type and innermost frame: one line per distinct bug, for --keep-going."""
    frames = traceback.extract_tb(err.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(err).__name__} at {where}"


def keep_going(name: str, target: Callable[[bytes], None]) -> Callable[[bytes], None]:
    """Record each new kind of finding (input and traceback) and carry on fuzzing."""
    seen: set[str] = set()

    def run(data: bytes) -> None:
        try:
            target(data)
        except Exception as err:
            sig = signature(err)
            if sig not in seen:
                seen.add(sig)
                path = save_finding(name, data, err)
                print(f"\n{name}: FINDING {sig}: {str(err)[:160]} -> {path}", flush=True)
    run.seen = seen  # type: ignore[attr-defined]
    return run


def save_finding(name: str, data: bytes, err: BaseException) -> Path:
    directory = FINDINGS / name
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"crash-{hashlib.sha1(data).hexdigest()}"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text("".join(traceback.format_exception(err)))
    return path


# -- drivers -------------------------------------------------------------------------------------

def run_atheris(name: str, libfuzzer_args: list[str], *, go_on: bool = False) -> None:
    import atheris

    with atheris.instrument_imports(include=["encfile"]):
        _import_encfile()
    target = make_target(name)
    if go_on:
        target = keep_going(name, target)
    corpus = [a for a in libfuzzer_args if not a.startswith("-")]
    flags = [a for a in libfuzzer_args if a.startswith("-")]
    if not corpus:
        corpus = [str(write_corpus(name))]
    if not any(a.startswith("-artifact_prefix=") for a in flags):
        (FINDINGS / name).mkdir(parents=True, exist_ok=True)
        flags.append(f"-artifact_prefix={FINDINGS / name}/")
    for flag, value in (("-timeout=", "10"), ("-rss_limit_mb=", "2048"),
                        ("-max_len=", str(MAX_SEED))):
        if not any(a.startswith(flag) for a in flags):
            flags.append(flag + value)
    atheris.Setup([sys.argv[0], *flags, *corpus], target)
    atheris.Fuzz()


def _mutations(seed_list: list[bytes]):  # type: ignore[no-untyped-def]
    """Hypothesis strategy: random bytes, or a seed with a few byte-level edits."""
    from hypothesis import strategies as st

    interesting = [b"\x00", b"\n", b"\r\n", b"\t", b" ", b":", b"-", b"#", b"[", b"]", b"{",
                   b"}", b"'", b'"', b"\\", b"=", b"&a", b"*a", b"!!", b"|", b">", b"\xff",
                   b"\xc3", b"\xe2\x80\xa8", b"ENC[", b"sops", b"=" * 2, b"AAAA", b"---\n"]

    @st.composite
    def mutated(draw):  # type: ignore[no-untyped-def]
        data = bytearray(draw(st.sampled_from(seed_list)))
        for _ in range(draw(st.integers(1, 8))):
            op = draw(st.integers(0, 4))
            pos = draw(st.integers(0, len(data)))
            if op == 0 and data:  # delete a run
                del data[pos:pos + draw(st.integers(1, 16))]
            elif op == 1:  # insert an interesting chunk
                data[pos:pos] = draw(st.sampled_from(interesting))
            elif op == 2 and data:  # flip a byte
                i = min(pos, len(data) - 1)
                data[i] = draw(st.integers(0, 255))
            elif op == 3 and data:  # duplicate a slice
                end = min(len(data), pos + draw(st.integers(1, 64)))
                data[pos:pos] = data[pos:end]
            else:  # splice from another seed
                other = draw(st.sampled_from(seed_list))
                cut = draw(st.integers(0, len(other)))
                data = data[:pos] + bytearray(other[cut:cut + draw(st.integers(1, 256))])
        return bytes(data)

    return st.one_of(st.binary(max_size=512), mutated())


def run_hypothesis(name: str, seconds: float, *, go_on: bool = False) -> int:
    from hypothesis import HealthCheck, given, settings

    _import_encfile()
    target = make_target(name)
    if go_on:
        target = keep_going(name, target)
    seed_list = seeds(name)
    state = {"runs": 0, "last": b""}

    def check(data: bytes) -> None:
        state["runs"] += 1
        try:
            target(data)
        except BaseException:
            state["last"] = data  # after shrinking: the minimal failing input
            raise

    # A bounded run per call, repeated until the budget is spent: every call draws afresh.
    test = settings(max_examples=2000, deadline=None, database=None, derandomize=False,
                    suppress_health_check=list(HealthCheck))(given(_mutations(seed_list))(check))
    deadline = time.monotonic() + seconds
    findings = 0
    while time.monotonic() < deadline:
        try:
            test()
        except Exception as err:  # hypothesis replays the shrunk example last
            findings += 1
            path = save_finding(name, state["last"], err)
            print(f"{name}: FINDING {type(err).__name__}: {str(err)[:200]} -> {path}")
            if findings >= 5:
                break
    findings += len(getattr(target, "seen", ()))
    print(f"{name}: {state['runs']} executions in {seconds:.0f} s, {findings} finding(s)")
    return 1 if findings else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("target", nargs="?", help="a target, or 'all' (see --list)")
    ap.add_argument("--list", action="store_true", help="list the targets")
    ap.add_argument("--hypothesis", action="store_true",
                    help="use the hypothesis loop even when atheris is installed")
    ap.add_argument("--seconds", type=float, default=60.0,
                    help="time per target (default 60); passed to libFuzzer as -max_total_time")
    ap.add_argument("--keep-going", action="store_true",
                    help="record each distinct finding under $FUZZ_FINDINGS and go on "
                         "(default: stop at the first, as libFuzzer does)")
    ap.add_argument("--seeds", metavar="DIR", help="write the seed corpus of TARGET to DIR")
    args, rest = ap.parse_known_args(argv)
    warnings.simplefilter("ignore")
    if args.list or not args.target:
        print("\n".join(TARGET_NAMES))
        return 0
    if args.target == "all":
        failed = 0
        for name in TARGET_NAMES:
            cmd = [sys.executable, __file__, name, f"--seconds={args.seconds}", *rest]
            cmd += ["--hypothesis"] * args.hypothesis + ["--keep-going"] * args.keep_going
            print("==>", " ".join(cmd), flush=True)
            failed |= subprocess.run(cmd).returncode != 0
        return 1 if failed else 0
    if args.target not in TARGET_NAMES:
        ap.error(f"unknown target {args.target!r}; see --list")
    if args.seeds:
        _import_encfile()
        global CORPUS
        CORPUS = Path(args.seeds)
        print(write_corpus(args.target))
        return 0
    try:
        import atheris  # noqa: F401
    except ImportError:
        if not args.hypothesis:
            print("atheris is not installed: using the hypothesis loop", file=sys.stderr)
        args.hypothesis = True
    if args.hypothesis:
        return run_hypothesis(args.target, args.seconds, go_on=args.keep_going)
    if not any(a.startswith("-max_total_time=") for a in rest):
        rest.append(f"-max_total_time={int(args.seconds)}")
    run_atheris(args.target, rest, go_on=args.keep_going)
    return 0


if __name__ == "__main__":
    sys.exit(main())
