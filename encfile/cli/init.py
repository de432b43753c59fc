"""``encfile init``: a key if the user has none, ``.encfile.yaml``, git, the next steps."""

from __future__ import annotations

import os

from .. import errors
from .terminal import ask_passphrase, say, tell, write_stdout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .parse import Args


def init(a: Args) -> None:
    from .. import _api, fsutil, gitsetup, project
    from ..keysources import split_list
    from ..keysources.identities import KeyRing, sops_default_key_file
    from .git import run_setup

    patterns: list[str] = a.patterns
    existing = os.path.exists(os.path.join(os.getcwd(), ".encfile.yaml"))
    if a.age:
        recipients = split_list(a.age)
    else:
        found = project.find_public_key(KeyRing(passphrase=ask_passphrase))
        if found is None:
            identity = _api.generate_identity()
            key_file = sops_default_key_file()
            fsutil.append_private(key_file, identity.file_block().encode("ascii"))
            tell(f"created an identity in '{key_file}' (mode 0600); back it up: without it, "
                 "nothing encrypted for it can be read")
            found = (identity.public, key_file)
        else:
            tell(f"using your identity {found[0]} ({found[1]})")
        recipients = [found[0]]
    regex = project.rule_regex(patterns)
    if existing:
        # A clone of a project that uses encfile: its rules stay; the user needs a key
        # (above), git setup (below), and a teammate to add the key to the rules.
        say("note", "this project already has .encfile.yaml: it is kept as it is; ask a "
            f"teammate to add your key {recipients[0]} to it and run 'encfile updatekeys -y .'")
    else:
        path = project.write_config(os.getcwd(), regex, recipients)
        tell(f"wrote '{path}': files matching '{regex}' are encrypted for "
             f"{', '.join(recipients)}")
    in_git = False
    if not a.no_git:
        try:
            gitsetup.repo_root()
            in_git = True
        except errors.InputError:
            say("note", "not a git repository: run 'encfile git setup' after 'git init'")
    if in_git:
        run_setup(global_=False, no_hook=a.no_hook,
                  patterns=project.attribute_patterns(patterns) if patterns else None)
    example = patterns[0].replace("**/", "").replace("*", "app") if patterns else \
        "secrets.enc.yaml"
    steps = [
        (f"encfile edit {example}", "create it in $EDITOR (plaintext stays on tmpfs)"),
        (f"encfile -e -i {example}", "or encrypt an existing file in place"),
        (f"encfile -d {example}", "print it decrypted"),
        (f"encfile exec -f {example} -- ./your-app", "run with the values in the environment"),
        ("git add .encfile.yaml" + (" .gitattributes" if in_git else "") + f" {example}", ""),
    ]
    width = max(len(command) for command, note in steps if note)
    lines = [f"  {command.ljust(width)}   # {note}" if note else f"  {command}"
             for command, note in steps]
    write_stdout(("Next steps:\n" + "\n".join(lines) + "\n").encode())
