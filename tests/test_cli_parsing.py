"""The CLI's argument handling: sops's forms, the one parser every command uses, and
--help and shell completion built from the same tables."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_encfile

from encfile.cli import looks_like_file, spec
from encfile.cli.parse import HelpWanted, normalize, parse
from encfile.errors import OptionConflict, UsageError


def norm(argv: list[str]) -> list[str]:
    return normalize(argv, looks_like_file)


@pytest.mark.parametrize(("argv", "expected"), [
    (["-d", "f.yaml"], ["decrypt", "f.yaml"]),
    (["f.yaml", "-d"], ["decrypt", "f.yaml"]),
    (["-v", "--encrypt", "--age", "age1x", "f.yaml"], ["encrypt", "-v", "--age", "age1x", "f.yaml"]),
    (["decrypt", "-d"], ["decrypt", "-d"]),          # a subcommand is left alone
    (["keygen"], ["keygen"]),
    (["--", "-d"], ["--", "-d"]),                     # after --, -d is a file name
    (["s.enc.yaml"], ["edit", "s.enc.yaml"]),         # sops's default mode
    (["stauts"], ["stauts"]),                         # a mistyped command stays one
])
def test_sops_forms_become_subcommands(argv: list[str], expected: list[str]) -> None:
    assert norm(argv) == expected


def test_both_modes_conflict() -> None:
    with pytest.raises(OptionConflict):
        norm(["-e", "-d", "x"])


def parsed(argv: list[str]) -> dict[str, Any]:
    cmd = spec.COMMANDS[argv[0]]
    args = parse(cmd, argv[1:], [argv[0]])
    return {k: v for k, v in args.items() if v not in (None, False, [])}


@pytest.mark.parametrize(("argv", "expected"), [
    (["decrypt", "a.yaml", "-o", "out", "--extract=[\"k\"]", "b.yaml"],
     {"output": "out", "extract": '["k"]', "files": ["a.yaml", "b.yaml"]}),
    (["encrypt", "--age", "age1a,age1b", "-i", "x.yaml", "--encrypted-regex", "^data$"],
     {"age": "age1a,age1b", "in_place": True, "encrypted_regex": "^data$", "files": ["x.yaml"]}),
    (["decrypt", "-", "--input-type", "yaml"], {"input_type": "yaml", "files": ["-"]}),
    (["decrypt", "--", "-o"], {"files": ["-o"]}),
    (["decrypt", "-iv", "x"], {"in_place": True, "verbose": True, "files": ["x"]}),
    (["decrypt", "-oout", "x"], {"output": "out", "files": ["x"]}),
    (["rotate", "--add-age", "a", "--add-age=b", "f"], {"add_age": ["a", "b"], "files": ["f"]}),
    (["exec", "-f", "s.env", "--prefix", "APP_", "./app", "--help"],
     {"files": ["s.env"], "prefix": "APP_", "command": ["./app", "--help"]}),
    (["exec", "--", "env", "-i"], {"command": ["env", "-i"], "after_dashes": True}),
    (["exec-file", "s.json", "cat", "{}"], {"file": "s.json", "command": ["cat", "{}"]}),
    (["set", "f", '["a"]', "1"], {"file": "f", "path": '["a"]', "value": "1"}),
    (["updatekeys", "-y", "secrets/"], {"yes": True, "paths": ["secrets/"]}),
    (["status", "--check", "--json"], {"check": True, "as_json": True}),
])
def test_parse(argv: list[str], expected: dict[str, Any]) -> None:
    assert parsed(argv) == expected


@pytest.mark.parametrize(("argv", "message"), [
    (["decrypt", "--bogus"], "no such option: --bogus"),
    (["decrypt", "-x"], "no such option: -x"),
    (["decrypt", "-o"], "option -o needs a value"),
    (["decrypt", "--ignore-mac=yes"], "takes no value"),
    (["set", "f"], "missing PATH"),
    (["unset", "f", "p", "extra"], "unexpected argument 'extra'"),
])
def test_usage_mistakes(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as err:
        parsed(argv)
    assert message in err.value.message
    assert any(f"encfile {argv[0]} --help" in h for h in err.value.hints)


@pytest.mark.parametrize("argv", [["decrypt", "--help"], ["decrypt", "x", "-h"],
                                  ["exec", "-f", "x", "--help"]])
def test_help_is_asked_for(argv: list[str]) -> None:
    with pytest.raises(HelpWanted):
        parsed(argv)


def test_git_drivers_take_any_file_name() -> None:
    """git passes file names as they are: '-x.enc.yaml' is a file, a lone -h is help."""
    merge = spec.COMMANDS["git"].subcommands["merge"]
    args = parse(merge, ["-b", "--o", "-t", "-p.enc.yaml"], ["git", "merge"])
    assert (args.base, args.ours, args.theirs, args.path) == ("-b", "--o", "-t", "-p.enc.yaml")
    with pytest.raises(HelpWanted):
        parse(merge, ["-h"], ["git", "merge"])


def test_help_shows_exactly_what_the_parser_accepts() -> None:
    """One definition: typer's app (help, completion) is built from the parser's tables."""
    from encfile.cli import app

    group = app.build()

    def check(command: Any, cmd: spec.Command) -> None:
        shown = {name for p in command.params if p.param_type_name == "option"
                 for name in p.opts if name not in ("--help", "-h")}
        assert shown == {n for o in cmd.options for n in o.names}, cmd.name
        for name, sub in cmd.subcommands.items():
            check(command.commands[name], sub)

    for name, cmd in spec.COMMANDS.items():
        check(group.commands[name], cmd)


@pytest.mark.parametrize("command", ["decrypt", "encrypt", "rotate", "exec", "exec-file",
                                     "set", "keygen", "git setup", "git textconv"])
def test_help_has_meaningful_metavars(command: str, env: dict[str, str]) -> None:
    text = run_encfile(*command.split(), "--help", env=env).stdout.decode()
    assert "<str>" not in text and "<list" not in text and "<bool>" not in text, text


def test_top_level_help_lists_sops_style_flags(env: dict[str, str]) -> None:
    text = run_encfile("--help", env=env).stdout.decode()
    for shown in ("-e, --encrypt", "-d, --decrypt", "-i, --in-place", "--age RECIPIENTS",
                  "--extract PATH", "-o, --output FILE"):
        assert shown in text, shown


# -- shell completion ------------------------------------------------------------------------

def complete_bash(words: str, env: dict[str, str]) -> list[str]:
    """What the bash completion script that --show-completion prints offers for the
    command line ``words`` (the cursor at its end), run in a real bash."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    encfile_bin = shutil.which("encfile", path=os.path.dirname(sys.executable))
    if encfile_bin is None:
        pytest.skip("the encfile console script is not installed next to this python")
    shown = subprocess.run([encfile_bin, "--show-completion", "bash"], capture_output=True,
                           text=True, env={**env, "SHELL": "/bin/bash"}, timeout=60)
    assert shown.returncode == 0, shown.stderr
    line = words.split(" ")
    script = (f"{shown.stdout}\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in line)}); COMP_CWORD={len(line) - 1}\n"
              "_encfile_completion encfile\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    env = {**env, "PATH": os.path.dirname(encfile_bin) + os.pathsep + env.get("PATH", "")}
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return [w for w in done.stdout.splitlines() if w]


@pytest.mark.parametrize(("typed", "offered"), [
    ("encfile -", ["-e", "-d", "--in-place", "--age", "--extract", "--version"]),
    ("encfile -d --", ["--extract", "--ignore-mac", "--output-type"]),
    ("encfile -e --a", ["--age"]),
    ("encfile exec --p", ["--prefix", "--pristine"]),
    ("encfile git s", ["setup", "status"]),
    ("encfile git setup --", ["--global", "--no-hook", "--quiet"]),
    ("encfile dec", ["decrypt"]),
    ("encfile -d --input-type ", ["yaml", "json", "dotenv", "ini", "binary"]),
])
def test_bash_completion(typed: str, offered: list[str], env: dict[str, str]) -> None:
    got = complete_bash(typed, env)
    assert set(offered) <= set(got), got


def test_completion_of_a_file_argument_leaves_it_to_the_shell(tmp_path: Path,
                                                             env: dict[str, str]) -> None:
    """No word offered: bash's -o default then completes file names."""
    assert complete_bash("encfile -d sec", env) == []


def test_the_rule_options_are_the_rules_of_rules_py() -> None:
    from encfile.rules import RULE_NAMES

    assert spec.RULE_DESTS == RULE_NAMES
