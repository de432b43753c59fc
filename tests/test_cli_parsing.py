"""The CLI's argument handling: sops's -e/-d flags, and the typer-free fast path."""

from __future__ import annotations

import pytest

from encfile import cli


@pytest.mark.parametrize(("argv", "expected"), [
    (["-d", "f.yaml"], ["decrypt", "f.yaml"]),
    (["f.yaml", "-d"], ["decrypt", "f.yaml"]),
    (["-v", "--encrypt", "--age", "age1x", "f.yaml"], ["encrypt", "-v", "--age", "age1x", "f.yaml"]),
    (["decrypt", "-d"], ["decrypt", "-d"]),          # a subcommand is left alone
    (["keygen"], ["keygen"]),
    (["--", "-d"], ["--", "-d"]),                     # after --, -d is a file name
])
def test_mode_flags_become_subcommands(argv: list[str], expected: list[str]) -> None:
    assert cli.normalize_argv(argv) == expected


def test_both_modes_conflict() -> None:
    with pytest.raises(cli._Conflict):
        cli.normalize_argv(["-e", "-d", "x"])


@pytest.mark.parametrize(("argv", "expected"), [
    (["decrypt", "a.yaml", "-o", "out", "--extract=[\"k\"]", "b.yaml"],
     ("decrypt", {"output": "out", "extract": '["k"]'}, ["a.yaml", "b.yaml"])),
    (["encrypt", "--age", "age1a,age1b", "-i", "x.yaml", "--encrypted-regex", "^data$"],
     ("encrypt", {"age": "age1a,age1b", "in_place": True, "encrypted_regex": "^data$"},
      ["x.yaml"])),
    (["decrypt", "-", "--input-type", "yaml"], ("decrypt", {"input_type": "yaml"}, ["-"])),
    (["decrypt", "--", "-o"], ("decrypt", {}, ["-o"])),
])
def test_fast_parse(argv: list[str], expected: object) -> None:
    assert cli.fast_parse(argv) == expected


@pytest.mark.parametrize("argv", [
    ["decrypt", "--help"], ["decrypt", "-iv", "x"], ["decrypt", "--bogus"], ["decrypt", "-o"],
    ["decrypt", "--ignore-mac=yes"], ["keygen"], [],
])
def test_fast_parse_leaves_the_unusual_to_typer(argv: list[str]) -> None:
    assert cli.fast_parse(argv) is None


def test_fast_options_match_typer_options() -> None:
    """The fast parser and typer must accept exactly the same options."""
    import typer.main

    group = typer.main.get_command(cli._build_app())
    for name, table in cli.FAST_OPTIONS.items():
        command = group.commands[name]  # type: ignore[attr-defined]
        typer_opts: dict[str, tuple[str, bool]] = {}
        for param in command.params:
            if param.param_type_name != "option" or param.name == "help":
                continue
            for opt in param.opts:
                typer_opts[opt] = (param.name, not param.is_flag)
        assert typer_opts == table, name


@pytest.mark.parametrize(("argv", "expected"), [
    (["updatekeys", "-y", "secrets/"], ("updatekeys", {"yes": True}, ["secrets/"])),
    (["status", "--check", "--json"], ("status", {"check": True, "as_json": True}, [])),
])
def test_batch_commands_take_the_fast_path(argv: list[str], expected: object) -> None:
    assert cli.fast_parse(argv) == expected
