"""Tables of the commands that run another program (see ``spec.py``)."""

from __future__ import annotations

from .spec import INPUT_TYPE, KEYSERVICE, ORDER, OUTPUT_TYPE, Arg, Command, Opt

_SOPS_FORM = ("sops's form: one COMMAND string, run by /bin/sh -c ('{}' in it is replaced "
              "by the path, for exec-file)")


def _rest() -> Arg:
    return Arg("command", "COMMAND", "The command to run, and its arguments (after '--'); or "
               + _SOPS_FORM + ".", complete="command")


def exec_command() -> Command:
    return Command(
        "exec", "encfile.cli.run:exec_command", "Run a command with the values in its "
        "environment.",
        help="Run COMMAND with the decrypted values in its environment; encfile replaces itself "
             "with it (signals, stdio and the exit status are the command's own). Without -f: "
             "the files listed under 'exec: files:' in the nearest .encfile.yaml, else the first "
             "of secrets.enc.env, secrets.enc.yaml, secrets.enc.json here. Nested keys become "
             "DB_PASSWORD, list items NAME_0; dotenv values are read as python-dotenv reads "
             "them; the identity variables (SOPS_AGE_KEY…) are removed from the command's "
             "environment. ('exec-env' gives sops's semantics.)",
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
                 INPUT_TYPE, ORDER),
        rest=Arg("command", "COMMAND", "The command to run, and its arguments (after '--').",
                 complete="command"))


def exec_env() -> Command:
    return Command(
        "exec-env", "encfile.cli.run:exec_env", "Run a command with the values in its "
        "environment, as sops exec-env.",
        help="sops's exec-env: each top-level key of FILE becomes a variable (a nested value "
             "is an error), dotenv values exactly as written after '=' (quotes included), and "
             "COMMAND runs through /bin/sh -c as a child whose exit status is encfile's. "
             "('exec' flattens nested keys and reads dotenv values as python-dotenv does.)",
        example="encfile exec-env secrets.enc.env 'echo \"$API_TOKEN\"'",
        options=(Opt("--pristine", help="Only the decrypted values: inherit no environment."),
                 Opt("--same-process", help="Replace encfile with the shell (exec) instead of "
                                            "running it as a child."),
                 Opt("--user", metavar="USER", help="Run the command as USER (needs root)."),
                 Opt("--background", help="Start the command and return at once "
                                          "(deprecated in sops)."),
                 ORDER, *KEYSERVICE),
        args=(Arg("file", "FILE", "The encrypted file."),),
        rest=Arg("command", "COMMAND", "The command, one string for /bin/sh -c (or the "
                 "command and its arguments after '--').", complete="command"))


def exec_file() -> Command:
    return Command(
        "exec-file", "encfile.cli.run:exec_file", "Run a command that reads the plaintext "
        "from a path.",
        help="Run COMMAND with '{}' in its arguments replaced by a path from which it can read "
             "the decrypted FILE. encfile's form (COMMAND after '--') gives a path in memory (a "
             "Linux memfd) that can be read as often as wanted. " + _SOPS_FORM[0].upper()
             + _SOPS_FORM[1:] + " gives a named pipe on tmpfs, read once, or with --no-fifo a "
             "0600 file on tmpfs; both are removed when the command ends. The plaintext never "
             "lands on disk.",
        example="encfile exec-file secrets.enc.json -- myapp --config {}",
        options=(INPUT_TYPE, OUTPUT_TYPE,
                 Opt("--placeholder", metavar="TEXT", help="What to replace with the path "
                                                           "(default: {})."),
                 Opt("--watch", help="Refresh the content when FILE changes and restart the "
                                     "command (or send it --signal)."),
                 Opt("--signal", metavar="NAME", choices=("HUP", "USR1", "USR2", "TERM"),
                     help="With --watch: send the command this signal (e.g. HUP) instead of "
                          "restarting it."),
                 Opt("--no-fifo", help="sops's form: a regular file (on tmpfs) instead of a "
                                       "named pipe."),
                 Opt("--filename", metavar="NAME", help="sops's form: the file's name "
                                                        "(default: tmp-file)."),
                 Opt("--user", metavar="USER", help="Run the command as USER (needs root)."),
                 Opt("--background", help="Start the command and return at once "
                                          "(deprecated in sops)."),
                 Opt("--pristine", help="Inherit no environment."),
                 ORDER, *KEYSERVICE),
        args=(Arg("file", "FILE", "The encrypted file."),),
        rest=_rest())
