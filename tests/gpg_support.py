"""GnuPG for the tests: real key rings in temporary GNUPGHOMEs, with their agents stopped.

The keys are made once per session in template homes (``make_templates``); each test
gets a copy in a fresh, short directory (gpg-agent's socket lives inside it, and socket
paths are limited to 108 bytes) and its agent is killed at teardown with
``gpgconf --kill all``. The keys:

* ``plain``: an ed25519 primary key (certify, sign) with a cv25519 encryption subkey, no
  passphrase; named by its primary fingerprint, so the encryption subkey differs from
  the key named (as with every modern key);
* ``locked``: the same layout, protected by :data:`PASSPHRASE`;
* ``multi``: two encryption subkeys, named ``SUBKEY!`` (that subkey exactly, as gpg
  reads ``!``); without the ``!`` gpg would use the newer subkey.

The homes never contain a ``gpg.conf`` unless a test writes one, so no keyserver or
network is ever used. Import this module's fixtures into a test module by name
(``from gpg_support import gnupg``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REQUIRE_ORACLES, SHARED, clean_env

from encfile.keysources.identities import KeyRing

PASSPHRASE = "correct horse battery staple"
FUNCTIONAL = SHARED / "corpus" / "sops-made" / "sops-functional-tests"
#: The functional tests' keys: secret keys for the first two, only the public key of the third.
FT_FBC7 = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
FT_D722 = "D7229043384BCC60326C6FB9D8720D957C3D3074"
FT_B611 = "B611A2F9F11D0FF82568805119F9B5DAEA91FF86"

PINENTRY = """#!/bin/sh
# A pinentry that answers every passphrase request from gpg-agent with {answer}.
echo "OK Pleased to meet you"
while read -r cmd rest; do
  case "$cmd" in
    GETPIN) {getpin};;
    BYE) echo OK; exit 0;;
    *) echo OK;;
  esac
done
"""


def gpg_binary() -> str:
    path = shutil.which("gpg")
    if path is None or shutil.which("gpgconf") is None:
        if REQUIRE_ORACLES:
            pytest.fail("GnuPG is required (ENCFILE_REQUIRE_ORACLES=1): apt-get install gnupg")
        pytest.skip("GnuPG (gpg) is not installed")
    return path


def short_dir(prefix: str = "eg") -> Path:
    """A new private directory with a short path (agent sockets must fit in 108 bytes)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp" if os.path.isdir("/tmp") else None))


class GnuPG:
    """One GNUPGHOME: run gpg in it, and the environment that points gpg and sops at it."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.chmod(0o700)

    def env(self, base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env.pop("GPG_TTY", None)
        env["GNUPGHOME"] = str(self.home)
        env.update(extra)
        return env

    def gpg(self, *args: str, input: bytes | None = None,
            check: bool = True) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run([gpg_binary(), "--batch", "--no-tty", *args], input=input,
                              capture_output=True, env=self.env(), timeout=120,
                              stdin=None if input is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"gpg {' '.join(args)} failed:\n{proc.stderr.decode()}")
        return proc

    def fingerprints(self, spec: str) -> list[str]:
        """The primary then subkey fingerprints of one key."""
        out = self.gpg("--with-colons", "--list-keys", spec).stdout.decode()
        return [line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:")]

    def new_key(self, name: str, passphrase: str = "", subkeys: int = 1) -> list[str]:
        """An ed25519 key with ``subkeys`` cv25519 encryption subkeys; its fingerprints."""
        uid = f"{name.title()} <{name}@example.invalid>"
        pin = ["--pinentry-mode", "loopback", "--passphrase", passphrase]
        self.gpg(*pin, "--quick-gen-key", uid, "ed25519", "cert,sign", "never")
        primary = self.fingerprints(uid)[0]
        for _ in range(subkeys):
            self.gpg(*pin, "--quick-add-key", primary, "cv25519", "encr", "never")
        return self.fingerprints(primary)

    def pinentry(self, getpin: str) -> None:
        """Make gpg-agent use a pinentry script whose answer to GETPIN is ``getpin`` (shell)."""
        script = self.home / "pinentry.sh"
        script.write_text(PINENTRY.format(answer=getpin, getpin=getpin))
        script.chmod(0o700)
        self.agent_conf(f"pinentry-program {script}")

    def answer_passphrase(self, passphrase: str = PASSPHRASE) -> None:
        self.pinentry(f'echo "D {passphrase}"; echo OK')

    def cancel_pinentry(self) -> None:
        self.pinentry('echo "ERR 83886179 Operation cancelled <Pinentry>"')

    def agent_conf(self, *lines: str) -> None:
        (self.home / "gpg-agent.conf").write_text("".join(f"{line}\n" for line in lines))
        self.kill()  # the next gpg starts an agent that reads it

    def gpg_conf(self, *lines: str) -> None:
        (self.home / "gpg.conf").write_text("".join(f"{line}\n" for line in lines))

    def kill(self) -> None:
        subprocess.run(["gpgconf", "--kill", "all"], env=self.env(), capture_output=True,
                       timeout=60, check=False)

    def copy(self) -> GnuPG:
        """A new home holding the same keys (the agent's sockets left behind)."""
        target = short_dir()
        target.rmdir()
        shutil.copytree(self.home, target, ignore=shutil.ignore_patterns("S.*", "*.lock",
                                                                           ".#*"))
        return GnuPG(target)

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.home, ignore_errors=True)


class Templates:
    """The session's key rings (copied for each test, never used directly)."""

    def __init__(self) -> None:
        gpg_binary()
        self.keys = GnuPG(short_dir("egt"))
        self.plain = self.keys.new_key("plain")
        self.locked = self.keys.new_key("locked", PASSPHRASE)
        self.multi = self.keys.new_key("multi", subkeys=2)
        self.keys.gpg("--export-ownertrust")  # the trust db exists before the copies
        self.keys.kill()
        self.public = GnuPG(short_dir("egp"))  # the same keys, without their secret keys
        exported = self.keys.gpg("--export", "--armor").stdout
        self.public.gpg("--import", input=exported)
        self.public.kill()
        self.empty = GnuPG(short_dir("ege"))
        self.functional = GnuPG(short_dir("egf"))
        ring = FUNCTIONAL / "sops_functional_tests_key.asc"
        if ring.is_file():
            self.functional.gpg("--import", input=ring.read_bytes())
        self.functional.kill()

    @property
    def plain_fp(self) -> str:
        return self.plain[0]

    @property
    def locked_fp(self) -> str:
        return self.locked[0]

    @property
    def multi_fp(self) -> str:
        """The first encryption subkey, exactly (``!``)."""
        return self.multi[1] + "!"

    def remove(self) -> None:
        for home in (self.keys, self.public, self.empty, self.functional):
            home.remove()


_TEMPLATES: list[Templates] = []  # made once, though each module that imports it has its own


@pytest.fixture(scope="session")
def gpg_keys() -> Iterator[Templates]:
    if not _TEMPLATES:
        _TEMPLATES.append(Templates())
    yield _TEMPLATES[0]
    while _TEMPLATES:  # the session is over: the first module's teardown removes them
        _TEMPLATES.pop().remove()


def _copied(template: GnuPG) -> Iterator[GnuPG]:
    home = template.copy()
    try:
        yield home
    finally:
        home.remove()


@pytest.fixture
def gnupg(gpg_keys: Templates) -> Iterator[GnuPG]:
    """A fresh home with the secret keys of ``plain``, ``locked`` and ``multi``."""
    yield from _copied(gpg_keys.keys)


@pytest.fixture
def gnupg_public(gpg_keys: Templates) -> Iterator[GnuPG]:
    """A fresh home with only the public keys."""
    yield from _copied(gpg_keys.public)


@pytest.fixture
def gnupg_functional(gpg_keys: Templates) -> Iterator[GnuPG]:
    """A fresh home with sops's functional-test key ring."""
    if not (FUNCTIONAL / "sops_functional_tests_key.asc").is_file():
        pytest.skip("../shared/corpus/sops-made/sops-functional-tests is not present")
    yield from _copied(gpg_keys.functional)


def cli_env(home: Path, gnupg: GnuPG, **extra: str) -> dict[str, str]:
    """A clean environment (no identity, a temporary HOME) pointing at ``gnupg``."""
    return gnupg.env(clean_env(home), **extra)


def run(argv: list[str], *, env: dict[str, str], input: bytes | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a command without a terminal: no tty on any standard stream, and a new session,
    so neither pinentry nor a prompt can reach the developer's terminal."""
    return subprocess.run(argv, input=input, capture_output=True, env=env, cwd=cwd,
                          timeout=180, start_new_session=True,
                          stdin=None if input is not None else subprocess.DEVNULL)




# -- the key-source contract tests (tests/keysources/test_contract.py) ---------------------------

class Contract:
    """The key rings of the contract tests' pgp source, set up by :func:`pgp_contract`."""

    home: GnuPG | None = None     # the secret keys
    foreign: GnuPG | None = None  # an empty key ring
    fingerprint = ""


@pytest.fixture
def pgp_contract(gpg_keys: Templates) -> Iterator[None]:
    Contract.home, Contract.foreign = gpg_keys.keys.copy(), gpg_keys.empty.copy()
    Contract.fingerprint = gpg_keys.plain_fp
    try:
        yield
    finally:
        Contract.home.remove()
        Contract.foreign.remove()
        Contract.home = Contract.foreign = None


def contract_ctx(*, foreign: bool = False) -> KeyRing:
    """A run's keys whose gpg uses the contract's key ring (or the empty one)."""
    home = Contract.foreign if foreign else Contract.home
    assert home is not None, "the pgp_contract fixture sets up the key rings"
    return KeyRing(env=home.env(clean_env(home.home)))


__all__ = ["FT_B611", "FT_D722", "FT_FBC7", "FUNCTIONAL", "PASSPHRASE", "Contract", "GnuPG",
           "Templates", "cli_env", "contract_ctx", "gnupg", "gnupg_functional", "gnupg_public",
           "gpg_binary", "gpg_keys", "pgp_contract", "run", "short_dir"]
