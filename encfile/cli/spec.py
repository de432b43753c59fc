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
IGNORE_MAC = Opt("--ignore-mac", help="Do not check the file's MAC (to recover a damaged "
                                      "file).")
ORDER = Opt("--decryption-order", metavar="KINDS",
            help="The kinds of keys to try first, comma-separated, e.g. age,pgp (default: "
                 "$SOPS_DECRYPTION_ORDER, else the cheap ones first).")
INDENT = Opt("--indent", metavar="N", help="Indent YAML or JSON written without an original "
                                           "text (conversions, new files) by N spaces.")
SHAMIR = Opt("--shamir-secret-sharing-threshold", dest="shamir_threshold", metavar="N",
             help="How many key groups are needed to recover the data key.")
CONTEXT = Opt("--encryption-context", metavar="PAIRS",
              help="AWS KMS encryption context, comma-separated key:value pairs.")
AWS_PROFILE = Opt("--aws-profile", metavar="NAME", help="The AWS profile for KMS requests.")
KEYSERVICE = (Opt("--keyservice", metavar="URI", multiple=True,
                  help="sops key services: not supported (encfile uses its keys itself)."),
              Opt("--enable-local-keyservice", help="Accepted for sops: encfile always uses "
                                                    "the local keys."))

#: The kinds of keys, as the command line names them: (kind, flags, metavar, variable,
#: what). The variable is read when the flag is not given, as in sops.
KEY_FLAGS = (
    ("age", ("-a", "--age"), "RECIPIENTS", "SOPS_AGE_RECIPIENTS", "age recipients"),
    ("pgp", ("-p", "--pgp"), "FINGERPRINTS", "SOPS_PGP_FP", "PGP fingerprints"),
    ("kms", ("-k", "--kms"), "ARNS", "SOPS_KMS_ARN", "AWS KMS key ARNs (ARN+ROLE_ARN to "
     "assume a role)"),
    ("gcp_kms", ("--gcp-kms",), "IDS", "SOPS_GCP_KMS_IDS", "GCP KMS key resource IDs"),
    ("azure_kv", ("--azure-kv",), "URLS", "SOPS_AZURE_KEYVAULT_URLS",
     "Azure Key Vault key URLs"),
    ("hc_vault", ("--hc-vault-transit",), "URIS", "SOPS_VAULT_URIS",
     "Vault transit key URIs (https://vault:8200/v1/transit/keys/NAME)"),
    ("hckms", ("--hckms",), "IDS", "SOPS_HUAWEICLOUD_KMS_IDS",
     "HuaweiCloud KMS key IDs (not supported)"),
)
KEYS = tuple(Opt(*flags, metavar=metavar, help=f"{what}, comma-separated (default: ${var})")
             for _, flags, metavar, var, what in KEY_FLAGS)
ADD_RM = tuple(Opt(f"--{verb}-{flags[-1][2:]}", metavar=metavar, multiple=True,
                   help=f"{'Add' if verb == 'add' else 'Remove'} these {what}"
                        + (" (to the first key group)." if verb == "add" else "."))
               for _, flags, metavar, _, what in KEY_FLAGS for verb in ("add", "rm"))
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
DROP_UNSUPPORTED = Opt("--drop-unsupported-keys", help="Drop key entries encfile cannot write "
                       "for a new data key (HuaweiCloud KMS).")
MAC_ONLY = Opt("--mac-only-encrypted", help="Compute the MAC over the encrypted values only.")
FILES = Arg("files", "FILE", "Files ('-' or none: standard input).", nargs="*")
NEW_FILE = (*KEYS, AWS_PROFILE, CONTEXT, SHAMIR, *RULES, MAC_ONLY, INDENT)

#: sops's global options: in sops's old form (``sops -d --age … FILE``) every one is
#: accepted whatever the mode, so the commands those forms reach take them all (hidden
#: where they mean nothing to the command).
SOPS_GLOBALS = (IN_PLACE, OUTPUT, INPUT_TYPE, OUTPUT_TYPE, *NEW_FILE, *ADD_RM, IGNORE_MAC,
                CONFIG, OVERRIDE, ORDER, *KEYSERVICE,
                Opt("--extract", metavar="PATH"), Opt("-s", "--show-master-keys"),
                Opt("--disable-version-check"), Opt("--check-for-updates"))


def sops_global_names() -> set[str]:
    """Every name of a sops global option (they may start sops's old form)."""
    return {name for o in SOPS_GLOBALS for name in o.names}


def _with_globals(options: Sequence[Opt]) -> tuple[Opt, ...]:
    """``options``, then every sops global option they lack, hidden."""
    taken = {name for o in options for name in o.names} | {"-v", "--verbose", "-q",
                                                           "--quiet"}
    extra = [Opt(*o.names, dest=o.dest, metavar=o.metavar, multiple=o.multiple, hidden=True)
             for o in SOPS_GLOBALS if not taken.intersection(o.names)]
    return (*options, *extra)


def _encrypt() -> Command:
    return Command(
        "encrypt", "encfile.cli.crypt:encrypt", "Encrypt a file's values (sops: -e).",
        help="Encrypt the values of FILE for the keys of its creation rule, or of the key "
             "flags, and print the result (or write it with -i or -o). Keys, comments and "
             "layout stay readable. Without FILE, standard input (with --filename-override "
             "or --input-type).",
        example="encfile -e --age age1… -i secrets.yaml",
        options=_with_globals((IN_PLACE, OUTPUT, INPUT_TYPE, OUTPUT_TYPE, *NEW_FILE,
                               Opt("--reuse-from", metavar="FILE", complete="file",
                                   help="The previous encrypted version: keep its data key, "
                                        "keys and rules, and the ciphertext of every "
                                        "unchanged value."),
                               CONFIG, FORCE, OVERRIDE, *KEYSERVICE)),
        args=(FILES,))


def _decrypt() -> Command:
    return Command(
        "decrypt", "encfile.cli.crypt:decrypt", "Decrypt files to standard output (sops: -d).",
        help="Decrypt FILE and print the plaintext exactly as it was written. Several YAML "
             "files make one stream of documents (for kubectl apply -f -). Without FILE, "
             "standard input (its format is recognized).",
        example="encfile -d secrets.enc.yaml | kubectl apply -f -",
        options=_with_globals((IN_PLACE, OUTPUT,
                               Opt("--extract", metavar="PATH", help="Print only this part, "
                                   "as in sops: '[\"db\"][\"password\"]'."),
                               INPUT_TYPE, OUTPUT_TYPE, INDENT, IGNORE_MAC, ORDER, CONFIG,
                               FORCE, OVERRIDE, *KEYSERVICE)),
        args=(FILES,))


def _edit() -> Command:
    return Command(
        "edit", "encfile.cli.edit:edit", "Edit the plaintext in $EDITOR (sops: FILE alone).",
        help="Decrypt FILE into a private folder on tmpfs, run $SOPS_EDITOR, $VISUAL or "
             "$EDITOR on it, and encrypt what changed (unchanged values keep their "
             "ciphertext). A new FILE is created for the key flags or the creation rule. If "
             "the file changes meanwhile, your edit is kept, encrypted, as "
             "FILE.conflict-<time>.",
        example="EDITOR=nano encfile edit secrets.enc.yaml",
        options=_with_globals((INPUT_TYPE, OUTPUT_TYPE, *NEW_FILE, IGNORE_MAC, ORDER, CONFIG,
                               Opt("-s", "--show-master-keys", help="Refused: encfile edits "
                                   "values; keys change with rotate or updatekeys."),
                               Opt("--allow-disk-temp", help="Allow the plaintext on disk "
                                   "when no tmpfs exists."), *KEYSERVICE)),
        args=(Arg("file", "FILE", "The encrypted file (created if it does not exist)."),))


_PATH_ARG = Arg("path", "PATH", "The key path, as in --extract: '[\"db\"][\"password\"]'.",
                complete="")


def _set() -> Command:
    return Command(
        "set", "encfile.cli.setunset:set_value", "Set one value; others keep their ciphertext.",
        help="Set the value at PATH (added if its key is new, with the mappings that lead to "
             "it) in the file's own style. VALUE is JSON (a string needs quotes); with "
             "--value-file it names a file that holds the JSON, with --value-stdin it comes "
             "from standard input.",
        example="encfile set secrets.enc.yaml '[\"db\"][\"password\"]' '\"s3cret\"'",
        options=_with_globals((
            Opt("--value-file", help="VALUE is a file holding the value, as JSON (keeps the "
                                     "secret out of the process list)."),
            Opt("--value-stdin", help="Read the value, as JSON, from standard input."),
            Opt("--idempotent", help="Write nothing if the value is already there (encfile "
                                     "never rewrites an unchanged file)."),
            INPUT_TYPE, OUTPUT_TYPE, SHAMIR, IGNORE_MAC, ORDER, *KEYSERVICE)),
        args=(Arg("file", "FILE", "The encrypted file."), _PATH_ARG,
              Arg("value", "VALUE", "The new value, as JSON.", nargs="?", complete="")))


def _unset() -> Command:
    return Command(
        "unset", "encfile.cli.setunset:unset_value", "Remove one key; others keep their "
        "ciphertext.",
        help="Remove the key at PATH, with its comments.",
        example="encfile unset secrets.enc.yaml '[\"old_token\"]'",
        options=(Opt("--idempotent", help="Succeed when PATH is not there."),
                 INPUT_TYPE, OUTPUT_TYPE, SHAMIR, IGNORE_MAC, ORDER, *KEYSERVICE),
        args=(Arg("file", "FILE", "The encrypted file."), _PATH_ARG))


def _rotate() -> Command:
    return Command(
        "rotate", "encfile.cli.rekey:rotate", "New data key; every value encrypted again "
        "(sops: -r).",
        help="Make a new data key and encrypt every value again, optionally adding or removing "
             "keys (removing one always needs this: the old key could read new values).",
        example="encfile rotate -i --rm-age age1old… secrets.enc.yaml",
        options=_with_globals((IN_PLACE, OUTPUT, *ADD_RM, DROP_UNSUPPORTED,
                               INPUT_TYPE, OUTPUT_TYPE, CONTEXT, AWS_PROFILE, OVERRIDE, ORDER,
                               *KEYSERVICE)),
        args=(Arg("files", "FILE", "Encrypted files.", nargs="*"),))


def _updatekeys() -> Command:
    return Command(
        "updatekeys", "encfile.cli.rekey:updatekeys",
        "Make files' keys match the creation rules.",
        help="Compare each encrypted file below PATH with its creation rule, show what changes, "
             "and apply it. Adding a key keeps the data key and every ciphertext; removing one "
             "rotates the file.",
        example="encfile updatekeys -y secrets/",
        options=(Opt("-y", "--yes", help="Apply without asking."), CONFIG, INPUT_TYPE,
                 DROP_UNSUPPORTED, *KEYSERVICE),
        args=(Arg("paths", "PATH", "Files or folders (default: here).", nargs="*"),))


def _status() -> Command:
    from .more_spec import status

    return status()


def _filestatus() -> Command:
    from .more_spec import filestatus

    return filestatus()


def _keygen() -> Command:
    from .more_spec import keygen

    return keygen()


def _identities() -> Command:
    from .more_spec import identities

    return identities()


def _init() -> Command:
    from .more_spec import init

    return init()


def _groups() -> Command:
    from .more_spec import groups

    return groups()


def _keyservice() -> Command:
    from .more_spec import keyservice

    return keyservice()


def _completion() -> Command:
    from .more_spec import completion

    return completion()


def _scan() -> Command:
    from .scan_spec import command

    return command()


def _publish() -> Command:
    from .publish_spec import command

    return command()


def _exec() -> Command:
    from .run_spec import exec_command

    return exec_command()


def _exec_env() -> Command:
    from .run_spec import exec_env

    return exec_env()


def _exec_file() -> Command:
    from .run_spec import exec_file

    return exec_file()


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
    "encrypt": _encrypt, "decrypt": _decrypt, "exec": _exec, "exec-env": _exec_env,
    "exec-file": _exec_file, "git": _git, "edit": _edit, "set": _set, "unset": _unset,
    "rotate": _rotate, "updatekeys": _updatekeys, "status": _status,
    "filestatus": _filestatus, "groups": _groups, "keygen": _keygen, "init": _init,
    "identities": _identities, "keyservice": _keyservice, "completion": _completion,
    "scan": _scan, "publish": _publish})

#: sops's mode flags: ``encfile -d FILE`` is ``encfile decrypt FILE``, wherever the flag is.
MODES = {"-e": "encrypt", "--encrypt": "encrypt", "-d": "decrypt", "--decrypt": "decrypt",
         "-r": "rotate", "--rotate": "rotate"}
