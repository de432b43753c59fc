"""The tables of ``encfile publish`` (see ``spec.py``)."""

from __future__ import annotations

from .spec import CONFIG, KEYSERVICE, ORDER, Arg, Command, Opt


def command() -> Command:
    return Command(
        "publish", "encfile.cli.publish:publish",
        "Publish files to Vault KV, S3, GCS or AWS Secrets Manager (as sops publish).",
        help="Publish each FILE (with --recursive, every encrypted file below DIR) to the "
             "destination of its first matching destination_rules entry in .sops.yaml or "
             ".encfile.yaml. Vault KV (v1, v2) and AWS Secrets Manager get the decrypted "
             "data; S3 and GCS get the encrypted file, encrypted anew for the rule's "
             "recreation_rule keys if it has some: plaintext never goes to a bucket. Each "
             "file's change (keys added, changed, removed; never values) is shown and "
             "asked about; a destination that is up to date is not written. See "
             "docs/publish.md.",
        example="encfile publish -y --recursive secrets/",
        exits="0 every file published or already up to date (and with --dry-run: every "
              "destination read); 1 a destination refused, could not be reached or changed "
              "meanwhile (Vault KV v2 check-and-set), a bad destination rule, an answer of "
              "no, or no terminal to ask on without -y; 100 a FILE that does not exist; "
              "128 no key could decrypt a file whose data is published. When several "
              "files fail, the code is the first one's, and the last lines list what was "
              "written.",
        options=(
            Opt("-y", "--yes", help="Publish without asking (sops's --yes)."),
            Opt("--dry-run", help="Show, per destination, the keys that would be added, "
                                  "changed or removed (never their values); write nothing."),
            Opt("--recursive", help="Publish the encrypted files below each DIR, named by "
                                    "their path below it."),
            Opt("--omit-extensions", help="Drop the file's extension from its name at the "
                                          "destination (as omit_extensions: true)."),
            CONFIG, ORDER, *KEYSERVICE,
        ),
        args=(Arg("paths", "FILE", "Encrypted files, or folders with --recursive.",
                  nargs="*"),))
