"""``encfile keygen`` and ``encfile identities``."""

from __future__ import annotations

import os
import sys

from .. import errors
from .terminal import info, write_stderr, write_stdout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .parse import Args


def keygen(a: Args) -> None:
    if a.public:
        if a.pq:
            raise errors.OptionConflict("--pq and -y cannot be used together",
                                        hints=["-y prints the public keys of every kind of "
                                               "identity in FILE"])
        _public_keys(a.file)
        return
    if a.file is not None:
        raise errors.UsageError(f"unexpected argument {a.file!r}",
                                hints=["-o FILE writes a new identity; -y FILE prints the "
                                       "public keys of FILE"])
    from .. import _api, fsutil

    if a.pq:  # ML-KEM-768 + X25519, as age-keygen -pq (the public key is ~1,960 characters)
        from ..keysources import age_pq
        from ..keysources.age import NewIdentity

        try:
            identity = NewIdentity(*age_pq.generate())
        except age_pq.Unsupported as err:
            raise errors.EncfileError(f"cannot make a post-quantum identity: {err}") from None
    else:
        identity = _api.generate_identity()
    block = identity.file_block()
    if a.use_keyring:
        from ..keysources import oskeyring

        oskeyring.store(identity.public, identity.secret)
        info(f"stored in the OS keyring ({oskeyring.backend_name()}), service "
             f"'{oskeyring.SERVICE}'")
        write_stderr(f"Public key: {identity.public}\n")
        if not a.output:
            return
    if a.output:
        path = os.path.expanduser(a.output)
        existed = os.path.exists(path)
        fsutil.append_private(path, block.encode("ascii"))
        write_stderr(f"Public key: {identity.public}\n")
        info(f"{'appended to' if existed else 'created'} '{path}'")
    else:
        write_stdout(block.encode("ascii"))
        if not sys.stdout.isatty():
            write_stderr(f"Public key: {identity.public}\n")


def _public_keys(path: str | None) -> None:
    """``keygen -y [FILE]``: the public key of each identity in FILE ('-': standard input;
    default: the sops key file), one per line, as ``age-keygen -y`` prints them."""
    from .. import _api
    from ..keysources.age import is_encrypted_identity_file, parse_identities, public_of
    from ..keysources.identities import sops_default_key_file

    if path is None:
        path = os.environ.get("SOPS_AGE_KEY_FILE") or sops_default_key_file()
    if path == "-":
        text, label = _api.decode_text(sys.stdin.buffer.read(), "standard input"), "standard input"
    else:
        text, label = _api.read_file(os.path.expanduser(path)), f"'{path}'"
    if is_encrypted_identity_file(text):
        raise errors.InputError(f"{label} is passphrase-protected",
                                hints=["its public keys are in 'encfile identities' once it "
                                       "is named in SOPS_AGE_KEY_FILE"])
    parsed = parse_identities(text)
    publics = [p for p in map(public_of, parsed.identities) if p]
    if not publics:
        plugged = len(parsed.identities)
        raise errors.InputError(f"{label} holds no age identity" if not plugged else
                                f"{label} holds only plugin identities, whose public keys "
                                "only their plugins know",
                                hints=[f"{label} {e}" for e in parsed.errors[:3]])
    write_stdout("".join(p + "\n" for p in publics).encode())


def identities(a: Args) -> None:
    import json

    from ..keysources.identities import KeyRing

    found = KeyRing().describe()
    if a.as_json:
        write_stdout((json.dumps(found, indent=2) + "\n").encode())
        return
    lines = [f"{item['public']}  ({item['source']})" for item in found if item.get("public")]
    lines += [f"# {item['source']}: {item['note']}" for item in found if not item.get("public")]
    write_stdout(("\n".join(lines) + "\n").encode() if lines else b"")
