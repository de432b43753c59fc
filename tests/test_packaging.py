"""A release build: `python -m build` makes a wheel and an sdist that install in a fresh venv."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import KEY_FILE, ROOT, SOPS_VECTORS

from encfile import __version__
from encfile._version import DISTRIBUTION, SOPS_VERSION


@pytest.mark.slow
def test_wheel_and_sdist_build_and_install_cleanly(tmp_path: Path) -> None:
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
                           capture_output=True, timeout=600)
    assert built.returncode == 0, built.stderr.decode()[-2000:]
    stem = f"{DISTRIBUTION.replace('-', '_')}-{__version__}"  # the normalized file name
    wheel = next(dist.glob(f"{stem}-py3-none-any.whl"))
    sdist = next(dist.glob(f"{stem}.tar.gz"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "encfile/py.typed" in names and "encfile/formats/yaml_fast.py" in names
    assert "encfile/keysources/age.py" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    with tarfile.open(sdist) as tar:
        members = tar.getnames()
    top = stem
    assert {f"{top}/LICENSE", f"{top}/README.md", f"{top}/pyproject.toml"} <= set(members)

    for artifact in (wheel, sdist):
        venv = tmp_path / f"venv-{artifact.suffix}"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        installed = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet",
                                    str(artifact)], capture_output=True, timeout=600)
        assert installed.returncode == 0, installed.stderr.decode()[-2000:]
        version = subprocess.run([str(venv / "bin" / "encfile"), "--version"],
                                 capture_output=True, text=True, timeout=60)
        assert version.stdout == f"encfile {__version__} ({DISTRIBUTION}, follows sops " \
            f"{SOPS_VERSION})\n"
        shown = subprocess.run([str(venv / "bin" / "pip"), "show", DISTRIBUTION],
                               capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0 and f"Name: {DISTRIBUTION}" in shown.stdout
        vector = next(SOPS_VECTORS.glob("*.yaml"))
        decrypted = subprocess.run([str(venv / "bin" / "encfile"), "-d", str(vector)],
                                   capture_output=True, timeout=60,
                                   env={"SOPS_AGE_KEY_FILE": str(KEY_FILE), "HOME": str(tmp_path),
                                        "ENCFILE_NO_KEYRING": "1", "PATH": "/usr/bin:/bin"})
        assert decrypted.returncode == 0, decrypted.stderr.decode()
