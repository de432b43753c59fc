"""Tables of the commands that are not on the hot path (see ``spec.py``)."""

from __future__ import annotations

from .spec import (
    AWS_PROFILE,
    CONFIG,
    CONTEXT,
    IN_PLACE,
    INPUT_TYPE,
    KEY_FLAGS,
    KEYSERVICE,
    SHAMIR,
    Arg,
    Command,
    Opt,
)


def status() -> Command:
    return Command(
        "status", "encfile.cli.status:status", "Recipients, key age and MAC of encrypted files.",
        help="One line per encrypted file below PATH: format, keys, the data key's age and "
             "the MAC; and plaintext files that a creation rule says are encrypted.",
        example="encfile status --check .",
        options=(Opt("--json", dest="as_json", help="One JSON object per file."),
                 Opt("--check", help="Exit 1 if a file needs attention."), CONFIG, INPUT_TYPE),
        args=(Arg("paths", "PATH", "Files or folders (default: here).", nargs="*"),))


def filestatus() -> Command:
    return Command(
        "filestatus", "encfile.cli.status:filestatus", "Is FILE encrypted? (sops's JSON answer)",
        help="Print {\"encrypted\":true} or {\"encrypted\":false}, as sops does: encrypted "
             "means sops metadata with a version and a MAC.",
        example="encfile filestatus secrets.enc.yaml",
        options=(INPUT_TYPE,),
        args=(Arg("file", "FILE", "The file."),))


def keygen() -> Command:
    return Command(
        "keygen", "encfile.cli.keys:keygen", "Create an age identity, or show public keys.",
        help="Create an age identity: print it, append it to a key file (-o), or keep it in the "
             "OS keyring (--keyring). With --pq, a post-quantum (ML-KEM-768 + X25519) one, as "
             "age-keygen -pq makes it. With -y, print the public key of each identity in FILE "
             "instead (as age-keygen -y; FILE defaults to $SOPS_AGE_KEY_FILE, else sops's key "
             "file).",
        example="encfile keygen -o ~/.config/sops/age/keys.txt",
        options=(Opt("-o", "--output", metavar="FILE", complete="file",
                     help="Append the identity to FILE (created 0600)."),
                 Opt("--keyring", dest="use_keyring", help="Store it in the OS keyring "
                                                           "(service 'encfile')."),
                 Opt("--pq", help="A post-quantum identity (AGE-SECRET-KEY-PQ-1..., recipient "
                                  "age1pq1...)."),
                 Opt("-y", dest="public", help="Print the public keys of FILE's identities.")),
        args=(Arg("file", "[FILE]", "With -y: an identity file ('-': standard input).",
                  nargs="?"),))


def identities() -> Command:
    return Command(
        "identities", "encfile.cli.keys:identities", "List the identities encfile finds.",
        help="List every identity source encfile looks at, with the public keys it holds "
             "(never a private key).",
        example="encfile identities --json",
        options=(Opt("--json", dest="as_json", help="One JSON object per identity."),))


def init() -> Command:
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


def groups() -> Command:
    group_keys = tuple(Opt(f"--{flags[-1][2:]}", dest=kind, metavar=metavar[:-1] or metavar,
                           multiple=True, help=f"One of the new group's {what} (repeat for "
                           "more).")
                       for kind, flags, metavar, _, what in KEY_FLAGS)
    file_opt = Opt("-f", "--file", metavar="FILE", complete="file",
                   help="The encrypted file (sops's form: the file comes as -f).")
    return Command(
        "groups", "", "Add or delete a key group of a file (Shamir).",
        help="Key groups split the data key: each group gets one share, and any "
             "shamir_threshold of them recover it.",
        example="encfile groups add -f secrets.enc.yaml --age age1… -i",
        subcommands=(
            Command("add", "encfile.cli.rekey:groups_add", "Add a key group to a file.",
                    help="A new group with the keys given; the data key is split again, so "
                         "every value is encrypted under a new data key.",
                    example="encfile groups add -f secrets.enc.yaml --age age1… -i",
                    options=(file_opt, *group_keys, IN_PLACE, SHAMIR, CONTEXT, AWS_PROFILE,
                             *KEYSERVICE),
                    args=(Arg("positional", "[FILE]", "The file, if not given with -f.",
                              nargs="?"),)),
            Command("delete", "encfile.cli.rekey:groups_delete", "Delete a key group of a "
                    "file.",
                    help="Delete the group at INDEX (from 0, as sops counts); the data key is "
                         "split again over the groups that remain.",
                    example="encfile groups delete -f secrets.enc.yaml -i 1",
                    options=(file_opt, IN_PLACE, SHAMIR, *KEYSERVICE),
                    args=(Arg("index", "INDEX", "Which group (0 is the first).", complete=""),
                          Arg("positional", "[FILE]", "The file, if not given with -f.",
                              nargs="?"))),
        ))


def keyservice() -> Command:
    return Command(
        "keyservice", "encfile.cli.more:keyservice", "sops's key service: not provided.",
        help="sops can serve its keys over gRPC to other sops processes. encfile does not: "
             "run 'sops keyservice' for that, or give each machine its own keys.",
        example="encfile keyservice   # refused, with what to use instead",
        options=(Opt("--network", "--net", dest="network", metavar="NET", hidden=True),
                 Opt("--address", "--addr", dest="address", metavar="ADDR", hidden=True),
                 Opt("--prompt", hidden=True)))


def completion() -> Command:
    return Command(
        "completion", "encfile.cli.more:completion", "Print a shell completion script.",
        help="Print the completion script for SHELL (bash, zsh or fish), as 'sops completion "
             "bash' does: load it with 'source <(encfile completion bash)'.",
        example="source <(encfile completion bash)",
        args=(Arg("shell", "SHELL", "bash, zsh or fish.", complete=""),))



