"""The tables of ``encfile scan`` (see ``spec.py``)."""

from __future__ import annotations

from .spec import Arg, Command


def command() -> Command:
    return Command(
        "scan", "encfile.cli.scan:scan", "Find secrets that are not encrypted yet.",
        help="Scan the working tree (or, with --history, git history) for hardcoded "
             "credentials and clear values that creation rules say must be encrypted.",
        example="encfile scan .",
        args=(Arg("paths", "PATH", "Files or folders (default: here).", nargs="*"),))
