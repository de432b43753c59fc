"""The tables of ``encfile git …`` (see ``spec.py``; loaded only for git's commands)."""

from __future__ import annotations

from .spec import Arg, Command, Opt

_DRIVER_NOTE = " Every argument is a file name, except -h or --help alone."
def command() -> Command:
    return Command(
        "git", "", "Git integration: diffs, merges, pre-commit guard.",
        help="Use encrypted files in git as if they were plain text: diffs show values, merges "
             "go key by key, and a pre-commit hook keeps plaintext secrets out of commits.",
        example="encfile git setup && git log -p secrets.enc.yaml",
        subcommands=(
            Command("setup", "encfile.cli.git:setup", "Set git up for encrypted files.",
                    help="In this repository: a '.gitattributes' line for each pattern of "
                         "secrets files (from the creation rules' path_regex, else *.enc.* and "
                         "*.enc), the diff and merge drivers in .git/config, and a pre-commit "
                         "hook. Running it again changes only what is missing or out of date. "
                         "git runs the encfile that ran setup by its absolute path, so encfile "
                         "need not be on PATH; if that one is gone later, git runs the encfile "
                         "on PATH instead. Run setup again after moving encfile.",
                    example="encfile git setup && git log -p secrets.enc.yaml",
                    exits="0 success; 1 a usage error; 2 not in a git repository, or git failed; "
                          "8 --scan with --no-hook or --global.",
                    options=(Opt("--global", dest="global_", help="Set the drivers in your user "
                                 "git config and the patterns in your user attributes file, for "
                                 "every repository (no hook)."),
                             Opt("--no-hook", help="Do not install the pre-commit hook."),
                             Opt("--scan", help="The hook also runs 'encfile scan --staged': "
                                 "it refuses staged secrets that are not encrypted, in any "
                                 "file (needs the scan extra). Later runs of setup keep "
                                 "it."))),
            Command("status", "encfile.cli.git:status", "Show how git is set up, and what is "
                    "stale.",
                    help="The drivers (local and global) and the encfile they run, the "
                         ".gitattributes patterns and the pre-commit hook. A warning names what "
                         "is stale, such as an encfile that is not there any more.",
                    example="encfile git status",
                    exits="0, also when something is stale (see the warnings or \"problems\").",
                    options=(Opt("--json", dest="as_json", help="Print it as JSON, for scripts "
                                                                "(\"problems\" lists what is "
                                                                "stale)."),)),
            Command("textconv", "encfile.cli.git:textconv", "Print a file decrypted (git's "
                    "diff driver).",
                    help="git diff, git log -p and git show call this for each version of an "
                         "encrypted file. A version that cannot be decrypted is printed as it "
                         "is, followed by one line that says why; the exit status is always 0, "
                         "so git never fails on a file you cannot read." + _DRIVER_NOTE,
                    example="encfile git textconv secrets.enc.yaml",
                    exits="always 0, so that git never fails on a file you cannot read.",
                    args=(Arg("file", "FILE", "A version of an encrypted file."),), literal=True),
            Command("merge", "encfile.cli.git:merge", "Merge three versions key by key (git's "
                    "merge driver).",
                    help="git calls this as %O %A %B %P. The merged file, encrypted again, "
                         "replaces OURS. When both sides changed a key differently, OURS is left "
                         "as it is and git records a conflict; 'encfile git resolve PATH' "
                         "settles it." + _DRIVER_NOTE,
                    example="encfile git merge base.enc.yaml ours.enc.yaml theirs.enc.yaml "
                            "secrets.enc.yaml",
                    exits="0 merged; 1 a conflict or an error (git then reports a conflict); 128 "
                          "no identity for one of the versions.",
                    args=(Arg("base", "BASE"), Arg("ours", "OURS"), Arg("theirs", "THEIRS"),
                          Arg("path", "PATH")), literal=True),
            Command("resolve", "encfile.cli.git:resolve", "Settle a conflicted merge of a file.",
                    help="With --ours or --theirs, every conflicting key takes that side's "
                         "value; without, $EDITOR shows both values of each conflicting key (in "
                         "a short JSON file on tmpfs) and you choose. The result is encrypted and "
                         "staged; commit to finish the merge.",
                    example="encfile git resolve secrets.enc.yaml --theirs && git commit",
                    exits="0 resolved and staged; 1 a usage error, or a conflict that is still "
                          "there; 2 no conflict to resolve, unreadable input, or no valid choice "
                          "in the editor; 3 no tmpfs for the editor's file (use --ours or "
                          "--theirs); 128 no identity.",
                    options=(Opt("--ours", help="Take our value for each conflicting key."),
                             Opt("--theirs", help="Take their value for each conflicting key.")),
                    args=(Arg("file", "FILE", "The conflicted file."),)),
            Command("pre-commit", "encfile.cli.git:pre_commit", "Refuse staged secrets that are "
                    "not encrypted (the hook).",
                    help="Check the staged version of every file that must be encrypted "
                         "(.gitattributes gives it diff=encfile, or a creation rule matches it), "
                         "or of the FILEs named, and refuse one that is not encrypted, is "
                         "malformed, or does not verify.",
                    example="encfile git pre-commit secrets.enc.yaml",
                    exits="0 every file passed; 1 a file was refused (so is the commit); 2 not in "
                          "a git repository.",
                    args=(Arg("files", "FILE", "Only these files.", nargs="*"),)),
        ))
