"""Every example in the README and docs/ runs.

Rules for writing examples:

* A fenced ``console`` block holds ``$ command`` lines; the lines after a command, up to
  the next ``$``, are its output and are not compared (keys and timestamps differ from run
  to run). Every command must exit 0, unless the line ends with ``# fails``.
* A fenced ``python`` block runs as a script; it must exit 0.
* The blocks of one page run in order, in one sandbox folder, so a page can build on its
  earlier examples. The sandbox is like a clone's top folder with the files of
  ``testdata/demo`` copied in, and a HOME whose ``~/.config/sops/age/keys.txt`` holds the
  test identity (the README starts without it: its tour makes one). A command is run
  exactly as written, so it must not hold a placeholder such as ``age1...``: a reader who
  pastes it would get an error. (Output lines may show ``age1...``.)
* A block right after ``<!-- not run: REASON -->`` is skipped: for examples that need a
  cluster, a tty, a network or another person's key. The reason is required.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KEY_FILE, ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.M | re.S)
_SKIP = re.compile(r"<!--\s*not run:\s*(\S[^>]*?)\s*-->\s*$")
_PLACEHOLDER = re.compile(r"age1(?:\.\.\.|…)")


def blocks(page: Path) -> list[tuple[str, str, int]]:
    """``(language, body, line)`` of the runnable blocks of a page."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        language, body = m.group(1), m.group(2)
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if language not in ("console", "python") or _SKIP.search(before):
            continue
        out.append((language, body, text.count("\n", 0, m.start()) + 1))
    return out


def commands(body: str) -> list[str]:
    return [line[2:] for line in body.splitlines() if line.startswith("$ ")]


NO_IDENTITY = {"README.md"}  # pages whose examples create the reader's first key


def sandbox(tmp_path: Path, identity: bool = True) -> tuple[Path, dict[str, str]]:
    work = tmp_path / "work"
    shutil.copytree(ROOT / "testdata" / "demo", work)
    shutil.copytree(ROOT / "testdata" / "demo", work / "testdata" / "demo")
    home = tmp_path / "home"
    keys = home / ".config" / "sops" / "age"
    keys.mkdir(parents=True)
    if identity:
        shutil.copy(KEY_FILE, keys / "keys.txt")
        (keys / "keys.txt").chmod(0o600)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOPS_", "ENCFILE_", "GIT_")) and k != "XDG_CONFIG_HOME"}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), ENCFILE_NO_KEYRING="1",
               GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="Docs", GIT_AUTHOR_EMAIL="docs@example.org",
               GIT_COMMITTER_NAME="Docs", GIT_COMMITTER_EMAIL="docs@example.org",
               EDITOR="true", NO_COLOR="1",
               PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""))
    return work, env


def test_every_page_has_examples_or_says_why_not() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        if page.name in ("format.md", "security.md", "README.md"):
            continue  # reference pages; their blocks are data, not commands
        assert "```console" in text or "```python" in text, f"{page.name} has no example"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_examples_run(page: Path, tmp_path: Path) -> None:
    found = blocks(page)
    if not found:
        pytest.skip(f"{page.name} has no runnable example")
    work, env = sandbox(tmp_path, identity=page.name not in NO_IDENTITY)
    for language, body, line in found:
        if language == "python":
            assert not _PLACEHOLDER.search(body), (
                f"{page.name} line {line}: the example holds a placeholder; a reader who "
                "runs it gets an error")
            script = work / "example.py"
            script.write_text(body)
            result = subprocess.run([sys.executable, str(script)], cwd=work, env=env,
                                    capture_output=True, timeout=120)
            assert result.returncode == 0, (
                f"{page.name} line {line}: python example failed:\n"
                f"{result.stderr.decode()[-1500:]}")
            continue
        for command in commands(body):
            expect_failure = command.rstrip().endswith("# fails")
            assert not _PLACEHOLDER.search(command), (
                f"{page.name} line {line}: `{command}` holds a placeholder; a reader who "
                "pastes it gets an error")
            result = subprocess.run(["bash", "-c", command], cwd=work, env=env,
                                    capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
            assert (result.returncode != 0) == expect_failure, (
                f"{page.name} line {line}: `{command}` exited {result.returncode}:\n"
                f"{result.stderr.decode()[-1500:]}")


def test_library_page_shows_the_real_signatures() -> None:
    """Each row of docs/library.md's function table has the function's parameters, kinds
    and defaults (``format="yaml"`` where the code has ``None`` misled a reader)."""
    import inspect

    import encfile

    page = (ROOT / "docs" / "library.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)\((.*?)\)` \|", page, re.M)
    assert len(rows) >= 8
    for name, params in rows:
        namespace: dict[str, object] = {}
        exec(f"def documented({params}): pass", namespace)  # the row as a signature
        shown = inspect.signature(namespace["documented"]).parameters  # type: ignore[arg-type]
        real = inspect.signature(getattr(encfile, name)).parameters
        assert [(p.name, p.kind, p.default) for p in shown.values()] == \
            [(p.name, p.kind, p.default) for p in real.values()], name


_INSTALL = re.compile(r"\b(?:pipx?|uv pip|uv tool) install\s+(?:--\S+\s+)*([^\s`]+)")


def test_install_lines_name_this_projects_distribution() -> None:
    """'encfile' on PyPI is another project: no page tells a reader to install it. Every
    install line names our distribution, a clone or a built wheel."""
    from encfile._version import DISTRIBUTION

    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(rf'^name = "{re.escape(DISTRIBUTION)}"$', pyproject, re.M)
    assert DISTRIBUTION != "encfile"
    seen = []
    for page in PAGES:
        for target in _INSTALL.findall(page.read_text(encoding="utf-8")):
            target = re.split(r"[=<>~!;]", target.strip("'\""))[0]  # without a version
            seen.append(target)
            assert target == DISTRIBUTION or target.startswith((".", "/", "dist/", "git+")) \
                or target.endswith(".whl") or target in ("atheris",) \
                or target.startswith(f"{DISTRIBUTION}["), f"{page.name}: installs {target!r}"
    assert DISTRIBUTION in seen and "encfile" not in seen
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    install = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert DISTRIBUTION in install and "unrelated project" in install
