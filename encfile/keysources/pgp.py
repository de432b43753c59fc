"""PGP keys, through GnuPG's ``gpg`` binary (as sops does).

The data key is encrypted for one fingerprint per entry with ``gpg --encrypt``
and read back with ``gpg --decrypt``, so gpg-agent does the secret-key work the
way the user set it up: cached passphrases, their pinentry, smartcards and
YubiKeys in OpenPGP mode. ``SOPS_GPG_EXEC`` names another binary and
``GNUPGHOME`` another key ring, both read from the run's environment (sops's
variables). An entry is ``created_at``, ``enc``, ``fp`` (sops's field order):
``enc`` is the ASCII-armored PGP message, ``fp`` the key as the user named it
(a fingerprint, spaces removed; ``FPR!`` names one subkey, as gpg reads it).

gpg always runs with ``--batch`` and its machine-readable status lines
(``--status-fd``); nothing gpg prints for people is read or shown, so no gpg
output reaches a message. gpg runs only in the second pass of a recovery
(``unwrap(ctx, cheap=False)``), i.e. when no cheaper key opened the file.

When gpg cannot get a passphrase itself (no pinentry can reach a terminal, or
gpg.conf asks for loopback pinentry, which batch mode cannot serve), the run's
passphrase callback is asked once per key and gpg tries again in loopback mode,
the passphrase going to it through a pipe (never an argument, variable or file).
"""

from __future__ import annotations

import os

from ..errors import ConfigError, EncfileError, InputError, RecipientError
from . import MasterKey

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .identities import KeyRing

GPG_EXEC_VAR = "SOPS_GPG_EXEC"
#: How long one gpg run may take: long enough to type a passphrase or touch a YubiKey.
GPG_TIMEOUT = 300.0
#: The most a decryption may produce: a data key is 32 bytes, a Shamir share 33.
MAX_OUTPUT = 1024
_BATCH = ["--batch", "--no-tty", "--status-fd", "2"]
MISSING_HINT = "install GnuPG (gpg), or point SOPS_GPG_EXEC at the gpg binary"

# gpg-error codes (libgpg-error's err-codes.h) that status lines report, and what they mean
# for the user. A code is the low 16 bits of the number gpg prints.
_NO_TERMINAL = "the secret key needs its passphrase, and there is no terminal to ask for it"
_NO_SECRET_KEY = "no secret key"
_ERRORS = {
    11: "wrong passphrase",
    17: _NO_SECRET_KEY,
    58: "enc holds no PGP message",
    62: "the pinentry prompt timed out",
    77: "gpg-agent is not running and could not be started",
    78: "gpg-agent failed",
    85: _NO_TERMINAL,
    86: "the pinentry program failed",
    87: "wrong PIN",
    99: "cancelled at the pinentry prompt",
    108: "the smartcard failed",
    110: "the smartcard was removed",
    112: "the smartcard holding the key is not present",
    114: "not confirmed at the pinentry prompt",
    119: "scdaemon (needed for the smartcard) could not be started",
    120: "scdaemon failed",
    130: "the smartcard's PIN is blocked",
    177: "no passphrase was given",
    178: "no PIN was given",
    198: "cancelled at the pinentry prompt",
    0x8066: _NO_TERMINAL,  # ENOTTY: pinentry found no terminal (GPG_TTY unset)
}
# INV_RECP reasons (gpg's DETAILS file), for encryption.
_RECIPIENT_ERRORS = {
    1: "no public key for it in the GnuPG key ring",
    2: "it names more than one key",
    3: "it cannot encrypt (wrong key usage)",
    4: "the key is revoked",
    5: "the key is expired",
    13: "the key is disabled",
    14: "it is not a key specification gpg understands",
}


def normalize(value: str) -> str:
    """A fingerprint as sops keeps it: trimmed, every space removed."""
    return value.strip().replace(" ", "")


class Key(MasterKey):
    """A PGP key, named by its fingerprint (or anything gpg's ``-r`` takes)."""

    kind = "pgp"
    __slots__ = ("created_at", "fingerprint")

    def __init__(self, fingerprint: str, enc: str = "", created_at: str | None = None) -> None:
        super().__init__(enc)
        self.fingerprint = fingerprint
        #: When the data key was wrapped for this key (RFC 3339), kept as read.
        self.created_at = created_at

    @property
    def id(self) -> str:
        return self.fingerprint

    @classmethod
    def from_config(cls, value: Any, context: Mapping[str, Any] | None = None
                    ) -> list[MasterKey]:
        items = value if isinstance(value, list) else [value]
        keys: list[MasterKey] = []
        for item in items:
            if not isinstance(item, (str, int)) or isinstance(item, bool):
                raise ConfigError("a pgp key is a fingerprint string, not "
                                  f"{type(item).__name__}")
            for part in str(item).split(","):
                fingerprint = normalize(part)
                if fingerprint:
                    if not fingerprint.isprintable():
                        raise ConfigError(f"invalid pgp fingerprint {fingerprint!r}")
                    keys.append(cls(fingerprint))
        return keys

    @classmethod
    def from_metadata(cls, entry: dict[str, Any]) -> MasterKey:
        if not entry.get("fp") or "enc" not in entry:
            raise InputError("sops pgp entry needs 'fp' and 'enc'")
        created = entry.get("created_at")
        return cls(str(entry["fp"]), str(entry["enc"] or ""),
                   None if created is None else str(created))

    def to_metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.created_at is not None:
            out["created_at"] = self.created_at
        out["enc"] = self.enc
        out["fp"] = self.fingerprint
        return out

    def wrap(self, data_key: bytes, ctx: KeyRing | None = None) -> MasterKey:
        env = _environment(ctx)
        argv = [*_BATCH, "--armor", "--trust-model", "always", "--no-default-recipient",
                "--no-encrypt-to", "--yes", "--encrypt", "--recipient", self.fingerprint]
        result = _run(env, argv, data_key)
        if isinstance(result, str):
            raise EncfileError(f"cannot encrypt for pgp key {self.fingerprint}: {result}",
                               hints=[MISSING_HINT] if "not found" in result else [])
        code, out, status = result
        text = out.decode("ascii", "replace").strip()
        if code != 0 or not _has(status, "END_ENCRYPTION") \
                or not text.startswith("-----BEGIN PGP MESSAGE-----"):
            raise RecipientError(f"cannot encrypt for pgp key {self.fingerprint}: "
                                 f"{_encrypt_problem(status)}",
                                 hints=_encrypt_hints(status, env))
        # sops trims gpg's output, and keeps the date of the first wrap through rotations
        import time

        created = self.created_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return Key(self.fingerprint, text, created)

    def unwrap(self, ctx: KeyRing, *, cheap: bool) -> bytes | None:
        if cheap or not self.enc:
            return None  # gpg is the expensive kind: the second pass only
        if not ctx.uses_environment:
            ctx.tried.append(f"pgp {self.fingerprint}: not tried (only the identities passed "
                             "in are used)")
            return None
        state = _state(ctx)
        if state.missing:
            ctx.tried.append(f"pgp {self.fingerprint}: {state.missing}")
            return None
        argv = [*_BATCH, "--max-output", str(MAX_OUTPUT), "--decrypt"]
        message = self.enc.encode("utf-8", "replace")
        result = _run(state.env, argv, message)
        if isinstance(result, str):
            state.missing = result
            ctx.tried.append(f"pgp {self.fingerprint}: {result}")
            return None
        secret, problem = _decrypted(result)
        if secret is None and problem == _NO_TERMINAL and self.fingerprint not in state.asked:
            secret, problem = self._with_passphrase(ctx, state, argv, message)
        if secret is not None:
            return secret
        if problem == _NO_SECRET_KEY:
            # gpg says the same when gpg-agent, which holds the secret keys, cannot start
            problem = state.agent_problem() or problem
        ctx.tried.append(f"pgp {self.fingerprint}: {problem}")
        return None

    def _with_passphrase(self, ctx: KeyRing, state: _State, argv: list[str],
                         message: bytes) -> tuple[bytes | None, str]:
        """gpg could not ask for the passphrase: ask through the run's callback (the CLI's
        terminal), then let gpg read it in loopback mode from a pipe."""
        state.asked.add(self.fingerprint)
        if os.name != "posix":
            return None, _NO_TERMINAL
        passphrase = ctx.ask_passphrase(f"pgp key {self.fingerprint}")
        if passphrase is None:
            return None, _NO_TERMINAL
        read, write = os.pipe()
        try:
            os.write(write, passphrase.encode("utf-8") + b"\n")
            os.close(write)
            write = -1
            result = _run(state.env, [*argv[:-1], "--pinentry-mode", "loopback",
                                      "--passphrase-fd", str(read), argv[-1]], message,
                          pass_fds=(read,))
        finally:
            os.close(read)
            if write >= 0:
                os.close(write)
        if isinstance(result, str):
            return None, result
        return _decrypted(result)


class _State:
    """What the pgp keys of one run share (``ctx.cache["pgp"]``)."""

    __slots__ = ("agent", "asked", "env", "missing")

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.missing = ""  # why gpg cannot run, once that is known
        self.asked: set[str] = set()  # keys whose passphrase the callback was asked for
        self.agent: str | None = None  # what is wrong with gpg-agent ("": nothing), once known

    def agent_problem(self) -> str:
        """Why gpg cannot use any secret key ("" if it can): asked once per run, by listing
        the secret keys, which fails when gpg-agent cannot be reached or started."""
        if self.agent is None:
            result = _run(self.env, [*_BATCH, "--with-colons", "--list-secret-keys"], b"")
            self.agent = "" if not isinstance(result, str) and result[0] == 0 else (
                "gpg cannot list its secret keys: gpg-agent is not running and could not "
                "be started")
        return self.agent


def _state(ctx: KeyRing) -> _State:
    state = ctx.cache.get("pgp")
    if not isinstance(state, _State):
        state = ctx.cache["pgp"] = _State(_environment(ctx))
    return state


def _environment(ctx: KeyRing | None) -> dict[str, str]:
    """gpg's environment: the run's (``GNUPGHOME``, ``SOPS_GPG_EXEC``…), and ``GPG_TTY``
    when it is unset and this process has a terminal, so that a text pinentry finds it
    (gpg would look at its own standard input, which is the message here)."""
    env = dict(os.environ if ctx is None else ctx.env)
    if not env.get("GPG_TTY") and hasattr(os, "ttyname"):
        for fd in (0, 2, 1):
            try:
                if os.isatty(fd):
                    env["GPG_TTY"] = os.ttyname(fd)
                    break
            except OSError:
                continue
    return env


def _binary(env: Mapping[str, str]) -> str:
    return env.get(GPG_EXEC_VAR) or "gpg"


def _run(env: dict[str, str], argv: list[str], stdin: bytes,
         pass_fds: tuple[int, ...] = ()) -> tuple[int, bytes, list[list[str]]] | str:
    """Run gpg: (exit code, stdout, status lines), or why it could not run at all."""
    import subprocess

    binary = _binary(env)
    try:
        proc = subprocess.run([binary, *argv], input=stdin, capture_output=True, env=env,
                              timeout=GPG_TIMEOUT, check=False, pass_fds=pass_fds)
    except FileNotFoundError:
        where = f"{GPG_EXEC_VAR}={binary}" if env.get(GPG_EXEC_VAR) else "PATH"
        return f"gpg not found ({where})"
    except PermissionError:
        return f"gpg cannot be run ({binary!r}: permission denied)"
    except OSError as err:
        return f"gpg cannot be run ({binary!r}: {type(err).__name__})"
    except subprocess.TimeoutExpired:
        return f"gpg did not finish within {GPG_TIMEOUT:.0f} s"
    return proc.returncode, proc.stdout, _status_lines(proc.stderr)


def _status_lines(stderr: bytes) -> list[list[str]]:
    """gpg's status lines (``[GNUPG:] KEYWORD ARGS``) as word lists; everything else on
    stderr is gpg's text for people, which is never read."""
    lines = []
    for raw in stderr.split(b"\n"):
        if raw.startswith(b"[GNUPG:] "):
            lines.append(raw[9:].decode("ascii", "replace").rstrip("\r").split(" "))
    return lines


def _has(status: list[list[str]], keyword: str) -> bool:
    return any(line[0] == keyword for line in status)


def _codes(status: list[list[str]]) -> list[int]:
    """The error codes of ``ERROR`` and ``FAILURE`` lines, in order."""
    codes = []
    for line in status:
        if line[0] in ("ERROR", "FAILURE") and len(line) >= 3 and line[2].isdigit():
            codes.append(int(line[2]) & 0xFFFF)
    return codes


def _decrypted(result: tuple[int, bytes, list[list[str]]]) -> tuple[bytes | None, str]:
    """The plaintext of a gpg decryption, or (None, what went wrong, in one line)."""
    code, out, status = result
    if _has(status, "DECRYPTION_OKAY"):
        if code == 0 and out:
            return out, ""
        if code == 0:  # an older gpg drops packets it cannot read (getsops/sops#896)
            return None, "gpg decrypted nothing (a PGP message this gpg cannot read?)"
        return None, f"it holds more than {MAX_OUTPUT} bytes, so no data key"
    codes = _codes(status)
    for error in codes:
        if error in _ERRORS and error != 17:
            return None, _ERRORS[error]
    if _has(status, "NODATA"):
        return None, "enc holds no PGP message"
    if _has(status, "NEED_PASSPHRASE") or _has(status, "INQUIRE_MAXLEN"):
        # loopback pinentry (gpg.conf) in batch mode: gpg asked, and nobody could answer
        return None, _NO_TERMINAL
    if _has(status, "NO_SECKEY") or 17 in codes:
        return None, _NO_SECRET_KEY
    if codes:
        return None, f"gpg could not decrypt it (gpg error {codes[0]})"
    return None, f"gpg could not decrypt it (exit status {code})"


def _encrypt_problem(status: list[list[str]]) -> str:
    for line in status:
        if line[0] == "INV_RECP" and len(line) >= 2 and line[1].isdigit():
            return _RECIPIENT_ERRORS.get(
                int(line[1]), "gpg cannot use it for encryption (no usable encryption "
                              "subkey: expired, revoked or sign-only?)")
    codes = _codes(status)
    if codes:
        return f"gpg failed (gpg error {codes[0]})"
    return "gpg failed"


def _encrypt_hints(status: list[list[str]], env: Mapping[str, str]) -> list[str]:
    if any(line[0] == "INV_RECP" and line[1:2] == ["1"] for line in status):
        home = env.get("GNUPGHOME") or "~/.gnupg"
        return [f"import the public key into the key ring in {home} (gpg --import KEY.asc)"]
    return []
