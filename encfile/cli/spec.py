"""Every command and option of the CLI, declared once.

The parser (``parse.py``, no typer: every command starts fast) reads these tables,
and so do ``--help`` and shell completion (``app.py`` builds a typer app from them,
only when help or completion is asked for). A command's ``run`` names the function
that carries it out, imported only when the command runs.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

FORMATS = ("yaml", "json", "dotenv", "ini", "binary")


class Opt:
    """An option: a flag when ``metavar`` is None, else it takes a value."""

    __slots__ = ("choices", "complete", "dest", "help", "hidden", "metavar", "multiple",
                 "names")

    def __init__(self, *names: str, dest: str | None = None, metavar: str | None = None,
                 help: str = "", multiple: bool = False, choices: Sequence[str] = (),
                 complete: str = "", hidden: bool = False) -> None:
        self.names = names
        longest = max(names, key=len)
        self.dest = dest or longest.lstrip("-").replace("-", "_")
        self.metavar = metavar
        self.help = help
        self.multiple = multiple
        self.choices = tuple(choices)  # for completion (the command checks the value)
        self.complete = complete  # "file" or "dir": the shell completes paths
        self.hidden = hidden

    @property
    def flag(self) -> bool:
        return self.metavar is None


class Arg:
    """A positional argument; ``nargs`` is 1, ``"?"`` or ``"*"``."""

    __slots__ = ("complete", "dest", "help", "metavar", "nargs")

    def __init__(self, dest: str, metavar: str, help: str = "", nargs: int | str = 1,
                 complete: str = "file") -> None:
        self.dest = dest
        self.metavar = metavar
        self.help = help
        self.nargs = nargs
        self.complete = complete


class Command:
    """A command. ``rest``: the arguments after the fixed ones (or after ``--``) belong to
    another program (``exec``). ``literal``: git's drivers pass file names, so only the
    command's own options, exactly as written, count as options (and a lone ``-h``)."""

    __slots__ = ("args", "example", "exits", "help", "literal", "name", "options", "rest",
                 "run", "subcommands", "summary")

    def __init__(self, name: str, run: str, summary: str, *, help: str = "",
                 example: str = "", options: Sequence[Opt] = (), args: Sequence[Arg] = (),
                 rest: Arg | None = None, literal: bool = False,
                 subcommands: Sequence[Command] = (), exits: str = "") -> None:
        self.name = name
        self.exits = exits  # what its exit codes mean, where they differ from the table
        self.run = run
        self.summary = summary
        self.help = help
        self.example = example
        self.options = (*options, VERBOSE, QUIET)
        self.args = tuple(args)
        self.rest = rest
        self.literal = literal
        self.subcommands = {c.name: c for c in subcommands}


VERBOSE = Opt("-v", "--verbose", help="Say what is being done.")
QUIET = Opt("-q", "--quiet", help="Print no warnings or notes (errors still print).")


def _format(what: str) -> Opt:
    return Opt(f"--{what}-type", metavar="FORMAT", choices=FORMATS,
               help=f"The {what} format: yaml, json, dotenv, ini or binary (default: "
               + ("from the file name; encrypted standard input is recognized)."
                  if what == "input" else "the input's; converts the data)."))


INPUT_TYPE, OUTPUT_TYPE = _format("input"), _format("output")
IN_PLACE = Opt("-i", "--in-place", help="Write the result over the file.")
OUTPUT = Opt("-o", "--output", metavar="FILE", complete="file",
             help="Write the result to FILE (atomically; plaintext gets mode 0600).")
CONFIG = Opt("--config", metavar="FILE", complete="file",
             help="The creation rules (default: $ENCFILE_CONFIG or $SOPS_CONFIG, else the "
                  "nearest .encfile.yaml or .sops.yaml above the file, else above the "
                  "working directory).")
FORCE = Opt("--force", help="Let -o write through a symlink, FIFO or device.")
OVERRIDE = Opt("--filename-override", metavar="NAME",
               help="Take the creation rule and the format from NAME instead of the "
                    "file's name (as sops; also for standard input).")
AGE = Opt("-a", "--age", metavar="RECIPIENTS",
          help="age recipients, comma-separated (default: $SOPS_AGE_RECIPIENTS, else the "
               "creation rules).")
RULES = tuple(Opt(f"--{name}", metavar=metavar, help=text) for name, metavar, text in (
    ("unencrypted-suffix", "SUFFIX", "Leave values in clear under keys ending with SUFFIX "
     "(default: _unencrypted)."),
    ("encrypted-suffix", "SUFFIX", "Encrypt only values under keys ending with SUFFIX."),
    ("unencrypted-regex", "REGEX", "Leave values in clear under keys matching REGEX."),
    ("encrypted-regex", "REGEX", "Encrypt only values under keys matching REGEX."),
    ("unencrypted-comment-regex", "REGEX", "Leave in clear the values after a comment "
     "matching REGEX."),
    ("encrypted-comment-regex", "REGEX", "Encrypt only the values after a comment "
     "matching REGEX."),
))
RULE_DESTS = tuple(o.dest for o in RULES)
FILES = Arg("files", "FILE", "Files ('-' or none: standard input).", nargs="*")

def _encrypt() -> Command:
    return Command(
        "encrypt", "encfile.cli.crypt:encrypt", "Encrypt a file's values (sops: -e).",
        help="Encrypt the values of FILE for the recipients of its creation rule, or of --age, "
             "and print the result (or write it with -i or -o). Keys, comments and layout stay "
             "readable.",
        example="encfile -e --age age1… -i secrets.yaml",
        options=(IN_PLACE, OUTPUT, AGE, INPUT_TYPE, OUTPUT_TYPE, *RULES,
                 Opt("--mac-only-encrypted", help="Compute the MAC over the encrypted values only."),
                 Opt("--reuse-from", metavar="FILE", complete="file",
                     help="The previous encrypted version: keep its data key, recipients and "
                          "rules, and the ciphertext of every unchanged value."),
                 CONFIG, FORCE, OVERRIDE),
        args=(FILES,))
def _decrypt() -> Command:
    return Command(
        "decrypt", "encfile.cli.crypt:decrypt", "Decrypt files to standard output (sops: -d).",
        help="Decrypt FILE and print the plaintext exactly as it was written. Several YAML "
             "files make one stream of documents (for kubectl apply -f -).",
        example="encfile -d secrets.enc.yaml | kubectl apply -f -",
        options=(IN_PLACE, OUTPUT,
                 Opt("--extract", metavar="PATH",
                     help="Print only this part, as in sops: '[\"db\"][\"password\"]'."),
                 INPUT_TYPE, OUTPUT_TYPE,
                 Opt("--ignore-mac", help="Do not check the file's MAC (to recover a damaged "
                                          "file)."),
                 CONFIG, FORCE, OVERRIDE),
        args=(FILES,))
def _edit() -> Command:
    return Command(
        "edit", "encfile.cli.edit:edit", "Edit the plaintext in $EDITOR (sops: FILE alone).",
        help="Decrypt FILE into a private folder on tmpfs, run $EDITOR on it, and encrypt what "
             "changed (unchanged values keep their ciphertext). A new FILE is created. If the "
             "file changes meanwhile, your edit is kept, encrypted, as FILE.conflict-<time>.",
        example="EDITOR=nano encfile edit secrets.enc.yaml",
        options=(INPUT_TYPE, Opt("-a", "--age", metavar="RECIPIENTS",
                                 help="Recipients for a new file (default: the creation rules)."),
                 CONFIG, Opt("--allow-disk-temp", help="Allow the plaintext on disk when no "
                                                       "tmpfs exists.")),
        args=(Arg("file", "FILE", "The encrypted file (created if it does not exist)."),))
_PATH_ARG = Arg("path", "PATH", "The key path, as in --extract: '[\"db\"][\"password\"]'.",
                complete="")
def _set() -> Command:
    return Command(
        "set", "encfile.cli.setunset:set_value", "Set one value; others keep their ciphertext.",
        help="Set the value at PATH (added if its key is new, with the mappings that lead to "
             "it) in the file's own style. VALUE is JSON: a string needs quotes.",
        example="encfile set secrets.enc.yaml '[\"db\"][\"password\"]' '\"s3cret\"'",
        options=(Opt("--value-file", metavar="FILE", complete="file",
                     help="Take the value (a string) from FILE."),
                 Opt("--value-stdin", help="Take the value (a string) from standard input."),
                 INPUT_TYPE),
        args=(Arg("file", "FILE", "The encrypted file."), _PATH_ARG,
              Arg("value", "VALUE", "The new value, as JSON.", nargs="?", complete="")))
def _unset() -> Command:
    return Command(
        "unset", "encfile.cli.setunset:unset_value", "Remove one key; others keep their "
        "ciphertext.",
        help="Remove the key at PATH, with its comments.",
        example="encfile unset secrets.enc.yaml '[\"old_token\"]'",
        options=(INPUT_TYPE,),
        args=(Arg("file", "FILE", "The encrypted file."), _PATH_ARG))
def _rotate() -> Command:
    return Command(
        "rotate", "encfile.cli.rekey:rotate", "New data key; every value encrypted again.",
        help="Make a new data key and encrypt every value again, optionally adding or removing "
             "recipients (removing one always needs this: the old key could read new values).",
        example="encfile rotate -i --rm-age age1old… secrets.enc.yaml",
        options=(IN_PLACE,
                 Opt("--add-age", metavar="RECIPIENTS", multiple=True,
                     help="Add these recipients (to the first key group)."),
                 Opt("--rm-age", metavar="RECIPIENTS", multiple=True,
                     help="Remove these recipients (from every key group)."),
                 Opt("--drop-unsupported-keys", help="Drop key entries encfile cannot write "
                                                     "for a new data key."),
                 INPUT_TYPE),
        args=(Arg("files", "FILE", "Encrypted files.", nargs="*"),))
def _updatekeys() -> Command:
    return Command(
        "updatekeys", "encfile.cli.rekey:updatekeys",
        "Make files' recipients match the creation rules.",
        help="Compare each encrypted file below PATH with its creation rule, show what changes, "
             "and apply it. Adding a recipient keeps the data key and every ciphertext; removing "
             "one rotates the file.",
        example="encfile updatekeys -y secrets/",
        options=(Opt("-y", "--yes", help="Apply without asking."), CONFIG, INPUT_TYPE),
        args=(Arg("paths", "PATH", "Files or folders (default: here).", nargs="*"),))
def _status() -> Command:
    return Command(
        "status", "encfile.cli.status:status", "Recipients, key age and MAC of encrypted files.",
        help="One line per encrypted file below PATH: format, recipients, the data key's age "
             "and the MAC; and plaintext files that a creation rule says are encrypted.",
        example="encfile status --check .",
        options=(Opt("--json", dest="as_json", help="One JSON object per file."),
                 Opt("--check", help="Exit 1 if a file needs attention."), CONFIG, INPUT_TYPE),
        args=(Arg("paths", "PATH", "Files or folders (default: here).", nargs="*"),))
def _keygen() -> Command:
    return Command(
        "keygen", "encfile.cli.keys:keygen", "Create an age identity, or show public keys.",
        help="Create an age identity: print it, append it to a key file (-o), or keep it in the "
             "OS keyring (--keyring). With -y, print the public key of each identity in FILE "
             "instead (as age-keygen -y; FILE defaults to $SOPS_AGE_KEY_FILE, else sops's key "
             "file).",
        example="encfile keygen -o ~/.config/sops/age/keys.txt",
        options=(Opt("-o", "--output", metavar="FILE", complete="file",
                     help="Append the identity to FILE (created 0600)."),
                 Opt("--keyring", dest="use_keyring", help="Store it in the OS keyring "
                                                           "(service 'encfile')."),
                 Opt("-y", dest="public", help="Print the public keys of FILE's identities.")),
        args=(Arg("file", "[FILE]", "With -y: an identity file ('-': standard input).",
                  nargs="?"),))
def _identities() -> Command:
    return Command(
        "identities", "encfile.cli.keys:identities", "List the identities encfile finds.",
        help="List every identity source encfile looks at, with the public keys it holds "
             "(never a private key).",
        example="encfile identities --json",
        options=(Opt("--json", dest="as_json", help="One JSON object per identity."),))
def _init() -> Command:
    return Command(
        "init", "encfile.cli.init:init", "Set up a project: key, .encfile.yaml, git.",
        help="Make an age identity if you have none, write .encfile.yaml with a rule for "
             "PATTERN (default: *.enc.* and *.enc), set git up, and show the next steps.",
        example="encfile init 'secrets/*.yaml' '*.enc.env'",
        options=(Opt("-a", "--age", metavar="RECIPIENTS",
                     help="Recipients (default: your identity's public key)."),
                 Opt("--no-git", help="Do not run 'encfile git setup'."),
                 Opt("--no-hook", help="Set git up without the pre-commit hook.")),
        args=(Arg("patterns", "PATTERN", "Which files are secret (globs).", nargs="*",
                  complete=""),))
def _exec() -> Command:
    return Command(
        "exec", "encfile.cli.run:exec_command", "Run a command with the values in its "
        "environment.",
        help="Run COMMAND with the decrypted values in its environment; encfile replaces itself "
             "with it (signals, stdio and the exit status are the command's own). Without -f: "
             "the files listed under 'exec: files:' in the nearest .encfile.yaml, else the first "
             "of secrets.enc.env, secrets.enc.yaml, secrets.enc.json here. Nested keys become "
             "DB_PASSWORD, list items NAME_0; the identity variables (SOPS_AGE_KEY…) are removed "
             "from the command's environment.",
        example="encfile exec -f secrets.enc.env -- ./manage.py runserver",
        options=(Opt("-f", "--file", dest="files", metavar="FILE", multiple=True, complete="file",
                     help="An encrypted file (several: later ones override earlier ones)."),
                 Opt("--prefix", metavar="PREFIX", help="Put PREFIX before every variable name."),
                 Opt("--no-flatten", help="Only top-level keys, as 'sops exec-env'; a nested "
                                          "value is an error."),
                 Opt("--pristine", help="Only the decrypted values: inherit no environment."),
                 Opt("--no-override", help="Keep variables that are already set."),
                 Opt("--watch", help="Stay as a supervisor: restart the command when a file "
                                     "changes (a file that does not decrypt is ignored)."),
                 INPUT_TYPE),
        rest=Arg("command", "COMMAND", "The command to run, and its arguments (after '--').",
                 complete="command"))
def _exec_file() -> Command:
    return Command(
        "exec-file", "encfile.cli.run:exec_file", "Run a command that reads the plaintext "
        "from a path in memory.",
        help="Run COMMAND with '{}' in its arguments replaced by a path from which it can read "
             "the decrypted FILE, as often as it likes. The plaintext lives in memory (a Linux "
             "memfd), never in a file on disk.",
        example="encfile exec-file secrets.enc.json -- myapp --config {}",
        options=(INPUT_TYPE, OUTPUT_TYPE,
                 Opt("--placeholder", metavar="TEXT", help="What to replace with the path "
                                                           "(default: {})."),
                 Opt("--watch", help="Refresh the content when FILE changes and restart the "
                                     "command (or send it --signal)."),
                 Opt("--signal", metavar="NAME", choices=("HUP", "USR1", "USR2", "TERM"),
                     help="With --watch: send the command this signal (e.g. HUP) instead of "
                          "restarting it.")),
        args=(Arg("file", "FILE", "The encrypted file."),),
        rest=Arg("command", "COMMAND", "The command to run, and its arguments (after '--').",
                 complete="command"))

def _git() -> Command:
    from .git_spec import command

    return command()


class _Commands:
    """name -> :class:`Command`, each built the first time it is asked for: a run needs
    one command's tables, only help and completion need them all."""

    def __init__(self, builders: dict[str, Callable[[], Command]]) -> None:
        self._builders = builders
        self._built: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            self._built[name] = self._builders[name]()
        return self._built[name]

    def get(self, name: str) -> Command | None:
        return self[name] if name in self._builders else None

    def __contains__(self, name: object) -> bool:
        return name in self._builders

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def items(self) -> list[tuple[str, Command]]:
        return [(name, self[name]) for name in self._builders]

    def values(self) -> list[Command]:
        return [self[name] for name in self._builders]


COMMANDS = _Commands({
    "encrypt": _encrypt, "decrypt": _decrypt, "exec": _exec, "exec-file": _exec_file,
    "git": _git, "edit": _edit, "set": _set, "unset": _unset, "rotate": _rotate,
    "updatekeys": _updatekeys, "status": _status, "keygen": _keygen, "init": _init,
    "identities": _identities})

#: sops's mode flags: ``encfile -d FILE`` is ``encfile decrypt FILE``, wherever the flag is.
MODES = {"-e": "encrypt", "--encrypt": "encrypt", "-d": "decrypt", "--decrypt": "decrypt"}

#: A library error's ``remedy`` as the hint that names this CLI's flag for it.
REMEDIES = {
    "recipients": "pass --age age1… (comma-separated for several), or set SOPS_AGE_RECIPIENTS",
    "extract": "add --extract PATH to print one part",
    "drop_unsupported": "pass --drop-unsupported-keys to drop them",
    "flatten": "drop --no-flatten",
    "no_flatten": "or use --no-flatten",
    "force": "pass --force to write through it",
    "allow_disk": "or pass --allow-disk-temp to accept a temp file on disk",
    "global": "or use --global",
    "no_hook": "or pass --no-hook",
    "exec_file": "or name the file with -f FILE",
}
