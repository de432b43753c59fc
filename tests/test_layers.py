"""The architecture, checked (ARCHITECTURE.md): imports point down, hazmat is quarantined,
the CLI's modules stay small, and the README's exit codes are the CLI's table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "encfile"


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path, *, top_level_only: bool = False) -> set[str]:
    """The modules ``name`` imports (absolute names), at module level or anywhere."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


ALL = modules()


def test_the_library_never_imports_the_cli() -> None:
    for name, path in ALL.items():
        if name.startswith("encfile.cli") or name == "encfile.__main__":
            continue
        assert not {m for m in imports(name, path) if m.startswith("encfile.cli")}, name


def test_codecs_know_no_crypto() -> None:
    banned = ("encfile.crypto", "encfile.token", "encfile.keysources", "encfile.mac",
              "cryptography", "pyrage")
    for name, path in ALL.items():
        if name.startswith("encfile.formats"):
            bad = {m for m in imports(name, path) if m.startswith(banned)}
            assert not bad, (name, bad)


@pytest.mark.parametrize(("package", "owners"), [
    # the AES-GCM of values; the HPKE of post-quantum age keys (age-plugin-pq only)
    ("cryptography", {"encfile.crypto", "encfile.keysources.age_pq"}),
    ("pyrage", {"encfile.keysources.age"}),
    ("typer", {"encfile.cli.app"}),
    ("keyring", {"encfile.keysources.oskeyring"}),
    ("botocore", {"encfile.keysources.kms", "encfile.publish.aws"}),
    ("google", {"encfile.keysources.gcpkms", "encfile.publish.gcs"}),
    ("azure", {"encfile.keysources.azkv"}),
])
def test_each_dependency_has_its_importers(package: str, owners: set[str]) -> None:
    users = {name for name, path in ALL.items()
             if any(m == package or m.startswith(package + ".") for m in imports(name, path))}
    assert users == owners


def test_no_import_cycle_at_module_level() -> None:
    graph = {name: {m for m in imports(name, path, top_level_only=True) if m in ALL}
             for name, path in ALL.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if nxt == node or (nxt == node.rpartition(".")[0] and node.endswith(".__init__")):
                continue
            if state.get(nxt) == 1 and not node.startswith(nxt + "."):
                # a package's submodule importing its own package is fine
                pytest.fail("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [])


def test_cli_modules_stay_small() -> None:
    for name, path in ALL.items():
        if name.startswith("encfile.cli"):
            assert len(path.read_text().splitlines()) <= 420, name


def test_the_readme_shows_the_exit_code_table() -> None:
    from encfile.cli import exits

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert exits.markdown_table() in readme


def test_test_modules_have_unique_names() -> None:
    """The test folders are not packages, so pytest imports each test module by its
    basename: two of the same name stop the whole run at collection."""
    names = [p.name for p in (ROOT / "tests").rglob("*.py") if "__pycache__" not in p.parts]
    assert sorted({n for n in names if names.count(n) > 1}) == []
