"""How fast `encfile scan --history` reads git history: `python benchmarks/scan_bench.py`.

Builds a repository with `git fast-import` (2,000 commits over 500 files by default: a
first commit with every file, then commits that change one to five files each), with a
few dozen planted secrets, then times, three times each, alternately:

* `encfile scan --history --format json` (the encfile on PATH, or `python -m encfile`
  of this interpreter): blobs scanned per second, from the report's own count;
* `git log -p --all` to /dev/null, for scale: what it costs git just to show the same
  history as diffs.

It prints the medians. Not a test: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ALNUM = string.ascii_letters + string.digits


def _file(rng: random.Random, index: int, version: int) -> tuple[str, bytes]:
    """File ``index`` at ``version``: config-like text of some 40 lines, in one of four
    shapes; one file in 25 holds a token."""
    kind = index % 4
    folder = f"svc{index % 25:02d}"
    words = ["replicas", "timeout", "region", "image", "port", "host", "level", "mode"]
    lines = []
    for i in range(40):
        key = f"{rng.choice(words)}_{i}"
        value = rng.choice((str(rng.randint(1, 9999)), "eu-west-1", "info", "enabled",
                            f"db{version}.internal", "".join(rng.choice(ALNUM) for _ in
                                                             range(rng.randint(4, 12)))))
        lines.append((key, value))
    if index % 25 == 0:
        lines[7] = ("api_token", "ghp_" + "".join(rng.choice(ALNUM) for _ in range(36)))
    if kind == 0:
        return f"{folder}/config{index}.yaml", "".join(f"{k}: {v}\n" for k, v in lines).encode()
    if kind == 1:
        return f"{folder}/app{index}.env", "".join(f"{k.upper()}={v}\n"
                                                   for k, v in lines).encode()
    if kind == 2:
        body = ",\n".join(f'  "{k}": "{v}"' for k, v in lines)
        return f"{folder}/settings{index}.json", ("{\n" + body + "\n}\n").encode()
    return f"{folder}/module{index}.py", "".join(f'{k.upper()} = "{v}"\n'
                                                 for k, v in lines).encode()


def build(repo: Path, commits: int, files: int, seed: int) -> None:
    rng = random.Random(seed)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    stream = bytearray()
    versions = [0] * files
    stamp = 1_700_000_000
    mark = 0

    def blob(data: bytes) -> int:
        nonlocal mark
        mark += 1
        stream.extend(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)) + data + b"\n")
        return mark

    for n in range(commits):
        changed = range(files) if n == 0 else rng.sample(range(files), rng.randint(1, 5))
        entries = []
        for index in changed:
            versions[index] += 1
            path, data = _file(rng, index, versions[index])
            entries.append((path, blob(data)))
        message = f"commit {n}\n".encode()
        stream.extend(b"commit refs/heads/main\n"
                      b"committer Bench <bench@example.org> %d +0000\n" % (stamp + n * 60)
                      + b"data %d\n" % len(message) + message)
        for path, ref in entries:
            stream.extend(b"M 100644 :%d %s\n" % (ref, path.encode()))
        stream.extend(b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=bytes(stream), check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)


def encfile_command() -> list[str]:
    found = shutil.which("encfile")
    return [found] if found else [sys.executable, "-m", "encfile"]


def timed(command: list[str], repo: Path) -> tuple[float, bytes]:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=repo, capture_output=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 10):
        sys.exit(f"{command[0]} failed ({result.returncode}): {result.stderr.decode()[-500:]}")
    return elapsed, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="encfile-scan-bench-") as tmp:
        repo = Path(tmp) / "repo"
        started = time.perf_counter()
        build(repo, args.commits, args.files, args.seed)
        print(f"built {args.commits} commits over {args.files} files with git fast-import "
              f"in {time.perf_counter() - started:.1f} s")
        scan = [*encfile_command(), "scan", "--history", "--format", "json"]
        log = ["git", "log", "-p", "--all"]
        scans, logs = [], []
        blobs = findings = 0
        for _ in range(args.rounds):
            seconds, out = timed(scan, repo)
            scans.append(seconds)
            report = json.loads(out)
            blobs, findings = report["summary"]["blobs"], report["summary"]["findings"]
            logs.append(timed(log, repo)[0])
        scan_s, log_s = statistics.median(scans), statistics.median(logs)
        print(f"encfile scan --history: {scan_s:.2f} s for {blobs} blobs "
              f"({blobs / scan_s:,.0f} blobs/s), {findings} findings")
        print(f"git log -p --all:       {log_s:.2f} s (for scale)")
        print(f"ratio: {scan_s / log_s:.1f}x git log -p")


if __name__ == "__main__":
    main()
