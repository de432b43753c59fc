"""``encfile git setup`` and ``status``: attributes, drivers and the pre-commit hook.

What setup writes, all idempotent:

* ``.gitattributes`` lines ``PATTERN diff=encfile merge=encfile`` for the encrypted
  files: globs made from the creation rules' ``path_regex`` where one is simple enough
  to have a glob, else ``*.enc.*`` and ``*.enc``;
* git config ``diff.encfile.textconv`` and ``merge.encfile.driver`` (local, or
  ``--global`` with the user's attributes file). ``diff.encfile.cachetextconv`` is set
  to ``false`` on purpose: git would otherwise keep the plaintext as objects under
  ``refs/notes/textconv``, inside ``.git``;
* a pre-commit hook that runs ``encfile git pre-commit`` (with ``scan``, then
  ``encfile scan --staged``: staged secrets that are not encrypted anywhere) and then any
  hook that was there before (kept as ``pre-commit.local``).

The drivers and the hook are small ``sh`` programs that run the encfile that ran setup
by its absolute path (:func:`self_program`), so they work without encfile on PATH. When
that program is gone (its virtualenv was deleted), they run the first ``encfile`` on
PATH; when there is none either, each fails the safe way: textconv shows the file as
it is stored (git keeps working), the merge driver exits 1 (git records a conflict and
keeps our version), and the hook refuses the commit and says how to fix it.
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
                         hints=["run it in your repository"], remedy="global")
    return result.stdout.decode().strip()


def self_program() -> list[str]:
    """The words that run this encfile from any folder, whatever PATH holds then.

    The console script that is running, when it is one: pip, pipx and uv write it again
    on every reinstall, and it names its own interpreter. Its path is kept as given, not
    resolved: pipx's ``~/.local/bin/encfile`` is a link into a virtualenv that an upgrade
    replaces, and the link is what lasts. Run as ``python -m encfile``, it is this
    interpreter with ``-P`` (3.11+), so that a folder named ``encfile`` in the repository
    that git runs it in cannot take the place of the installed package.
    """
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) == "encfile" and os.path.isfile(argv0) \
            and os.access(argv0, os.X_OK):
        return [os.path.abspath(argv0)]
    if not sys.executable:  # an embedded interpreter: nothing better than PATH
        return ["encfile"]
    if sys.version_info >= (3, 11):
        return [sys.executable, "-P", "-m", "encfile"]
    return [sys.executable, "-c",
            "import sys; del sys.path[0]; from encfile.cli import main; main()"]


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


# -- the recorded program ------------------------------------------------------------------
# git runs textconv and merge drivers through `sh -c` (textconv with `"$@"` appended, the
# file's name as $1), and the hook is sh too: each is an `if` that tries the recorded
# program, then `encfile` on PATH, then fails safe. Each word is quoted for sh; git
# config quotes the whole value itself.

FIX_HINT = "put encfile on PATH, or run 'encfile git setup' again"


def _gone(program: Sequence[str]) -> str:
    return f"'{program[0]}' is gone and no encfile is on PATH"


def _dq(text: str) -> str:
    """``text`` in sh double quotes (messages: they hold single quotes, by the style)."""
    return '"' + re.sub(r'([\\"$`])', r"\\\1", text) + '"'


def _runs(program: Sequence[str]) -> tuple[str, str]:
    """The sh test that the program is there, and the words that run it."""
    if not os.path.isabs(program[0]):  # `encfile` itself: PATH is all there is
        return f"command -v {shlex.quote(program[0])} >/dev/null 2>&1", shlex.join(program)
    return f"[ -x {shlex.quote(program[0])} ]", shlex.join(program)


def textconv_command(program: Sequence[str]) -> str:
    test, run = _runs(program)
    note = _dq(f"encfile: this version is shown encrypted: {_gone(program)}; {FIX_HINT}")
    return ("encfile_textconv() { "
            f'if {test}; then {run} git textconv "$1" || cat "$1"; '
            'elif command -v encfile >/dev/null 2>&1; then encfile git textconv "$1" || cat "$1"; '
            f'else cat "$1"; [ -z "$(tail -c 1 "$1")" ] || echo; printf "%s\\n" {note}; fi; '
            "}; encfile_textconv")


def merge_command(program: Sequence[str]) -> str:
    # git puts the quoted file names for %O %A %B %P, and turns %% into %.
    test, run = (part.replace("%", "%%") for part in _runs(program))
    error = _dq(f"encfile: error: the merge driver cannot run encfile: {_gone(program)}; "
                f"{FIX_HINT}").replace("%", "%%")
    return (f"if {test}; then {run} git merge %O %A %B %P; "
            "elif command -v encfile >/dev/null 2>&1; then encfile git merge %O %A %B %P; "
            f'else printf "%%s\\n" {error} >&2; exit 1; fi')


def driver_settings(program: Sequence[str]) -> dict[str, str]:
    return {
        "diff.encfile.textconv": textconv_command(program),
        "diff.encfile.cachetextconv": "false",
        "merge.encfile.name": "encfile: merge encrypted files key by key",
        "merge.encfile.driver": merge_command(program),
    }


def set_drivers(scope: str, cwd: str | None, program: Sequence[str]) -> list[str]:
    changed = []
    for key, value in driver_settings(program).items():
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


SCAN_COMMAND = "scan --staged"


def hook_text(program: Sequence[str], scan: bool = False) -> str:
    """The hook's text; ``scan`` adds ``encfile scan --staged`` after the guard."""
    test, run = _runs(program)
    then = f" && {run} {SCAN_COMMAND}" if scan else ""
    then_path = f" && encfile {SCAN_COMMAND}" if scan else ""
    refused = "\n".join(f'  printf "%s\\n" {_dq(line)} >&2' for line in (
        f"encfile: error: the pre-commit hook cannot run encfile: {_gone(program)}",
        "encfile: hint: put encfile on PATH (activate its virtualenv), or run "
        "'encfile git setup' again with the encfile you use now",
        "encfile: hint: the commit was refused: nothing checked the staged secrets files"))
    broken = _dq(f"encfile: hint: encfile could not be started; {FIX_HINT}")
    return (f"#!/bin/sh\n{HOOK_MARKER}: refuses plaintext secrets and broken encrypted files\n"
            "# It runs the encfile that ran setup, else the one on PATH, else refuses.\n"
            f"if {test}; then\n"
            f"  {run} git pre-commit{then}\n"
            "elif command -v encfile >/dev/null 2>&1; then\n"
            f"  encfile git pre-commit{then_path}\n"
            "else\n"
            f"{refused}\n"
            "  exit 1\n"
            "fi\n"
            "rc=$?\n"
            f'case $rc in 0) ;; 126|127) printf "%s\\n" {broken} >&2; exit 1 ;; '
            '*) exit "$rc" ;; esac\n'
            f'chained="$(dirname "$0")/{CHAINED_HOOK}"\n'
            'if [ -x "$chained" ]; then exec "$chained" "$@"; fi\n')


def hook_scans(text: str) -> bool:
    """Does a hook that setup wrote run ``encfile scan --staged`` too?"""
    return HOOK_MARKER in text and f" {SCAN_COMMAND}\n" in text


def install_hook(root: str, program: Sequence[str], scan: bool = False) -> list[str]:
    """Install (or update) the hook; ``scan`` adds the secrets scan, and a hook that has
    it keeps it."""
    folder = hooks_folder(root)
    path = os.path.join(folder, "pre-commit")
    changed = []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    scan = scan or (current is not None and hook_scans(current))
    wanted = hook_text(program, scan)
    if current == wanted:
        if os.access(path, os.X_OK):
            return []
        os.chmod(path, 0o755)
        return [f"made the pre-commit hook {path} executable again"]
    if current is not None and HOOK_MARKER not in current:
        chained = os.path.join(folder, CHAINED_HOOK)
        if os.path.exists(chained):
            raise InputError(f"both '{path}' and '{chained}' exist; encfile will not guess "
                             "which to keep", hints=["merge them"], remedy="no_hook")
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


# -- status ----------------------------------------------------------------------------------

def program_of(text: str, command: str) -> list[str] | None:
    """The program that a driver value or hook (from any version of setup) runs, or None."""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        found = re.search(rf"(?:; then |^\s*)(?!if |encfile_textconv)(.+?) git {command}(?: |$)",
                          line)
        if found is None:
            continue
        words = found.group(1)
        try:
            return shlex.split(words.replace("%%", "%") if command == "merge" else words)
        except ValueError:
            return None
    return None


def program_state(program: Sequence[str], current: bool) -> str:
    """``ok``, ``gone`` (the recorded program is not there), ``path`` (it is `encfile` on
    PATH, as an older setup wrote) or ``outdated`` (an older setup's text, with no
    fallback). ``current``: the text is what this version writes for ``program``."""
    if not os.path.isabs(program[0]):
        return "path"
    if not os.access(program[0], os.X_OK):
        return "gone"
    return "ok" if current else "outdated"


def _problem(where: str, program: Sequence[str], state: str, current: bool) -> str | None:
    runs = "runs" if where.endswith("hook") else "run"
    fallback = shutil.which("encfile") if current else None
    if state == "gone":
        if fallback:
            then = f"git runs the encfile on PATH ('{fallback}') instead"
        elif not current:
            then = ("written by an older encfile, it has no fallback: every commit is refused"
                    if where.endswith("hook") else "written by an older encfile, they have "
                    "no fallback: git diff and git show fail, and merges stop as conflicts")
        elif where.endswith("hook"):
            then = "with no encfile on PATH, every commit is refused"
        else:
            then = ("with no encfile on PATH, diffs show the encrypted text and merges stop "
                    "as conflicts")
        return f"the {where} {runs} '{program[0]}', which is gone: {then}"
    if state == "path" and not current:
        return (f"the {where} {runs} 'encfile' from PATH (written by an older encfile): "
                "git fails where encfile is not on PATH")
    if state == "outdated":
        return (f"the {where} {runs} '{program[0]}' with no fallback for when it is gone "
                "(written by an older encfile)")
    return None


def status(cwd: str | None = None) -> dict[str, object]:
    """What is configured: drivers (local and global), attributes, hook, and what is stale.

    ``programs`` maps ``local``, ``global`` and ``hook`` (those that are set) to the
    program they run and its state (:func:`program_state`); ``problems`` says in words
    what is stale; ``this_program`` is what setup would record now.
    """
    try:
        root: str | None = repo_root(cwd)
    except InputError:
        root = None
    out: dict[str, object] = {"repository": root}
    programs: dict[str, object] = {}
    problems: list[str] = []

    def note(name: str, where: str, program: list[str] | None, current: bool) -> None:
        if program is None:
            programs[name] = {"program": None, "state": "custom"}
            return
        state = program_state(program, current)
        programs[name] = {"program": program, "state": state}
        problem = _problem(where, program, state, current)
        if problem is not None:
            problems.append(problem)

    for scope in ("--local", "--global"):
        if scope == "--local" and root is None:
            continue
        name = scope.lstrip("-")
        settings = {key: _config_get(key, scope, cwd) for key in driver_settings(["encfile"])}
        out[name] = settings
        textconv = settings["diff.encfile.textconv"]
        driver = settings["merge.encfile.driver"]
        if textconv is None and driver is None:
            continue
        program = program_of(textconv or driver or "", "textconv" if textconv else "merge")
        wanted = driver_settings(program) if program else {}
        note(name, f"{name} drivers", program, all(
            settings[k] == wanted.get(k) for k in ("diff.encfile.textconv",
                                                   "merge.encfile.driver")))
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
                text = handle.read()
        except FileNotFoundError:
            text = ""
        out["hook"] = HOOK_MARKER in text
        if out["hook"]:
            program = program_of(text, "pre-commit")
            note("hook", "pre-commit hook", program,
                 program is not None and text == hook_text(program, hook_scans(text)))
        out["hook_scan"] = hook_scans(text)
    out["programs"] = programs
    out["problems"] = problems
    out["this_program"] = self_program()
    return out
