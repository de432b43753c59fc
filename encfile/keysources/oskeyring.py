"""Age identities in the operating system's keyring (through the ``keyring`` package).

Each identity is one secret: service ``encfile``, user name = its public key
(``age1…``), password = the identity (``AGE-SECRET-KEY-1…``). The keyring
cannot list its entries everywhere, so an ``index`` entry holds the public keys
stored so far (one per line), for ``encfile identities``. Decryption asks for
the file's recipients by name, so it needs no index.

``keyring`` (and its D-Bus backends) is imported only here, and only when a key
is stored or a file could not be opened with the other sources.
"""

from __future__ import annotations

from typing import Any

from ..errors import EncfileError

SERVICE = "encfile"
INDEX = "index"


class KeyringUnavailable(EncfileError):
    """No usable OS keyring backend (none installed, or no session to talk to)."""


def _backend() -> Any:
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise KeyringUnavailable("no OS keyring is available",
                                 hints=["on Linux, a Secret Service (GNOME Keyring, KWallet) "
                                        "must be running in your session"])
    return backend


def backend_name() -> str:
    backend = _backend()
    return f"{type(backend).__module__.split('.')[-1]}.{type(backend).__name__}"


def store(public: str, secret: str) -> None:
    """Keep an identity, and add its public key to the index."""
    from keyring.errors import KeyringError

    backend = _backend()
    try:
        backend.set_password(SERVICE, public, secret)
        known = public_keys()
        if public not in known:
            backend.set_password(SERVICE, INDEX, "\n".join([*known, public]))
    except KeyringError as err:
        raise KeyringUnavailable(f"the OS keyring refused the identity: {err}") from None


def public_keys() -> list[str]:
    """The public keys in the index."""
    from keyring.errors import KeyringError

    try:
        index = _backend().get_password(SERVICE, INDEX) or ""
    except KeyringError as err:
        raise KeyringUnavailable(f"cannot read the OS keyring: {err}") from None
    return [line for line in index.splitlines() if line.strip()]


def lookup(public: str) -> str | None:
    """The identity for a public key, or None."""
    from keyring.errors import KeyringError

    try:
        secret: str | None = _backend().get_password(SERVICE, public)
    except KeyringError as err:
        raise KeyringUnavailable(f"cannot read the OS keyring: {err}") from None
    return secret
