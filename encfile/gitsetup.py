"""``encfile git setup`` and ``status``: attributes, drivers and the pre-commit hook.

What setup writes, all idempotent:

* ``.gitattributes`` lines ``PATTERN diff=encfile merge=encfile`` for the encrypted
  files: globs made from the creation rules' ``path_regex`` where one is simple enough
  to have a glob, else ``*.enc.*`` and ``*.enc``;
* git config ``diff.encfile.textconv`` and ``merge.encfile.driver`` (local, or
  ``--global`` with the user's attributes file). ``diff.encfile.cachetextconv`` is set
  to ``false`` on purpose: git would otherwise keep the plaintext as objects under
  ``refs/notes/textconv``, inside ``.git``;
* a pre-commit hook that runs ``encfile git pre-commit`` and then any hook that was
  there before (kept as ``pre-commit.local``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

from .errors import InputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_PATTERNS = ("*.enc.*", "*.enc")
ATTRIBUTES = "diff=encfile merge=encfile"
ATTRIBUTES_HEADER = "# encfile: decrypt in diffs, merge key by key ('encfile git setup')"
HOOK_MARKER = "# installed by 'encfile git setup'"
CHAINED_HOOK = "pre-commit.local"


def git(args: Sequence[str], cwd: str | None = None, *, check: bool = True,
        input_bytes: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run git; raise InputError (with git's first line) when it fails and ``check``."""
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True,
                                input=input_bytes, check=False)
    except FileNotFoundError:
        raise InputError("git is not installed (or not on PATH)") from None
    if check and result.returncode != 0:
        first = (result.stderr.decode(errors="replace").strip().splitlines() or ["failed"])[0]
        raise InputError(f"git {args[0]}: {first.removeprefix('fatal: ')}")
    return result


def repo_root(cwd: str | None = None) -> str:
    result = git(["rev-parse", "--show-toplevel"], cwd, check=False)
    if result.returncode != 0:
        raise InputError("not inside a git repository",
                         hints=["run it in your repository, or use --global"])
    return result.stdout.decode().strip()


def self_command() -> str:
    """How git should call this encfile: ``encfile`` when that is the one on PATH."""
    argv0 = sys.argv[0] if sys.argv else ""
    on_path = shutil.which("encfile")
    if os.path.basename(argv0) == "encfile":  # the console script
        if on_path and os.path.realpath(on_path) == os.path.realpath(argv0):
            return "encfile"
        return shlex.quote(os.path.abspath(argv0))
    if on_path:
        return "encfile"
    return f"{shlex.quote(sys.executable)} -m encfile"


# -- patterns --------------------------------------------------------------------------------

_LITERAL = re.compile(r"[A-Za-z0-9_/-]")


def glob_of(regex: str) -> list[str] | None:
    """Gitattributes patterns matching what ``regex`` (a path_regex) matches, or None.

    Only simple regexes have one: literals, escaped dots, ``.*``/``.+``/``[^/]*`` and a
    single group of literal alternatives, e.g. ``\\.enc\\.(yaml|json)$``.
    """
    group = re.search(r"\(\?:([^()]*)\)|\(([^()]*)\)", regex)
    if group is not None:
        inner = group.group(1) if group.group(1) is not None else group.group(2)
        out: list[str] = []
        for alternative in inner.split("|"):
            globs = glob_of(regex[:group.start()] + re.escape(alternative) + regex[group.end():])
            if globs is None:
                return None
            out += globs
        return out
    start_anchored = regex.startswith("^")
    end_anchored = regex.endswith("$") and not regex.endswith("\\$")
    body = regex[1 if start_anchored else 0:len(regex) - (1 if end_anchored else 0)]
    glob, i = "", 0
    while i < len(body):
        two = body[i:i + 2]
        if two in (".*", ".+"):
            # may cross folders: after a '/', git's '**/' does (zero or more folders)
            glob += "**/*" if glob.endswith("/") else "*"
            i += 2
        elif body.startswith("[^/]*", i) or body.startswith("[^/]+", i):
            glob += "*"
            i += 5
        elif body[i] == "\\" and i + 1 < len(body) and body[i + 1] in ".-_/":
            glob += body[i + 1]
            i += 2
        elif _LITERAL.match(body[i]):
            glob += body[i]
            i += 1
        else:
            return None
    if not glob or glob == "*":
        return None
    if not end_anchored and not glob.endswith("*"):
        glob += "**" if glob.endswith("/") else "*"  # `secrets/`: all below the folder
    if "/" in glob.strip("/"):
        return [glob if start_anchored else "**/" + glob.lstrip("*").lstrip("/")]
    if start_anchored:
        return ["/" + glob.lstrip("/")]
    return [glob if glob.startswith("*") else "*" + glob]


def patterns_for(folder: str) -> tuple[list[str], list[str]]:
    """The patterns for a repository (from its config's creation rules), and notes."""
    from . import config

    try:
        found = config.find(os.path.join(folder, ".encfile-probe"))
    except Exception as err:  # a broken config must not stop setup; say so instead
        return list(DEFAULT_PATTERNS), [f"the creation rules could not be read ({err}); "
                                        "using the default patterns"]
    if found is None:
        return list(DEFAULT_PATTERNS), []
    out: list[str] = []
    notes: list[str] = []
    from .project import DEFAULT_REGEX

    for rule in found.rules:
        if not rule.path_regex:
            continue
        globs = list(DEFAULT_PATTERNS) if rule.path_regex == DEFAULT_REGEX else \
            glob_of(rule.path_regex)
        if globs is None:
            notes.append(f"path_regex {rule.path_regex!r} (line {rule.line}) has no simple glob; "
                         "covered by the default patterns")
            globs = list(DEFAULT_PATTERNS)
        out += [g for g in globs if g not in out]
    return (out or list(DEFAULT_PATTERNS)), notes


# -- setup -----------------------------------------------------------------------------------

def _config_get(key: str, scope: str, cwd: str | None) -> str | None:
    result = git(["config", scope, "--get", key], cwd, check=False)
    return result.stdout.decode().strip() if result.returncode == 0 else None


def driver_settings(command: str) -> dict[str, str]:
    return {
        "diff.encfile.textconv": f"{command} git textconv",
        "diff.encfile.cachetextconv": "false",
        "merge.encfile.name": "encfile: merge encrypted files key by key",
        "merge.encfile.driver": f"{command} git merge %O %A %B %P",
    }


def set_drivers(scope: str, cwd: str | None, command: str) -> list[str]:
    changed = []
    for key, value in driver_settings(command).items():
        if _config_get(key, scope, cwd) != value:
            git(["config", scope, key, value], cwd)
            changed.append(f"set git config {scope.lstrip('-')} {key}")
    return changed


def add_attributes(path: str, patterns: Sequence[str]) -> list[str]:
    """Add missing ``PATTERN diff=encfile merge=encfile`` lines to ``path``."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        text = ""
    present = {line.split()[0] for line in text.splitlines()
               if line.strip() and not line.startswith("#") and "diff=encfile" in line}
    missing = [p for p in patterns if p not in present]
    if not missing:
        return []
    block = "" if ATTRIBUTES_HEADER in text else ATTRIBUTES_HEADER + "\n"
    block += "".join(f"{p} {ATTRIBUTES}\n" for p in missing)
    if text and not text.endswith("\n"):
        text += "\n"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text + ("\n" if text and ATTRIBUTES_HEADER not in text else "") + block)
    return [f"added {p} to {path}" for p in missing]


def global_attributes_file(cwd: str | None) -> str:
    configured = _config_get("core.attributesFile", "--global", cwd)
    if configured:
        return os.path.expanduser(configured)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "git", "attributes")


def hooks_folder(root: str) -> str:
    found = git(["rev-parse", "--git-path", "hooks"], root).stdout.decode().strip()
    return found if os.path.isabs(found) else os.path.join(root, found)


def hook_text(command: str) -> str:
    return (f"#!/bin/sh\n{HOOK_MARKER}: refuses plaintext secrets and broken encrypted files\n"
            f"{command} git pre-commit || exit $?\n"
            f'chained="$(dirname "$0")/{CHAINED_HOOK}"\n'
            'if [ -x "$chained" ]; then exec "$chained" "$@"; fi\n')


def install_hook(root: str, command: str) -> list[str]:
    folder = hooks_folder(root)
    path = os.path.join(folder, "pre-commit")
    wanted = hook_text(command)
    changed = []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    if current == wanted:
        if os.access(path, os.X_OK):
            return []
        os.chmod(path, 0o755)
        return [f"made the pre-commit hook {path} executable again"]
    if current is not None and HOOK_MARKER not in current:
        chained = os.path.join(folder, CHAINED_HOOK)
        if os.path.exists(chained):
            raise InputError(f"both '{path}' and '{chained}' exist; encfile will not guess "
                             "which to keep", hints=["merge them, or pass --no-hook"])
        os.replace(path, chained)
        runs = "it still runs" if os.access(chained, os.X_OK) else \
            "it runs once it is executable, as before"
        changed.append(f"kept the existing pre-commit hook as {chained} ({runs})")
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(wanted)
    os.chmod(path, 0o755)
    changed.append(f"installed the pre-commit hook {path}")
    return changed


def status(cwd: str | None = None) -> dict[str, object]:
    """What is configured: drivers (local and global), attributes, hook."""
    try:
        root: str | None = repo_root(cwd)
    except InputError:
        root = None
    out: dict[str, object] = {"repository": root}
    for scope in ("--local", "--global"):
        if scope == "--local" and root is None:
            continue
        out[scope.lstrip("-")] = {key: _config_get(key, scope, cwd)
                                  for key in driver_settings("encfile")}
    if root is not None:
        attributes = os.path.join(root, ".gitattributes")
        try:
            with open(attributes, encoding="utf-8") as handle:
                lines = [ln.split()[0] for ln in handle if "diff=encfile" in ln
                         and not ln.startswith("#")]
        except FileNotFoundError:
            lines = []
        out["patterns"] = lines
        hook = os.path.join(hooks_folder(root), "pre-commit")
        try:
            with open(hook, encoding="utf-8", errors="replace") as handle:
                out["hook"] = HOOK_MARKER in handle.read()
        except FileNotFoundError:
            out["hook"] = False
    return out
