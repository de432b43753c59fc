"""The keys of one run: where identities come from, and what every key source shares.

:class:`KeyRing` is the context each :class:`~encfile.keysources.MasterKey` gets
(``ctx``): the environment, the passphrase callback, caches shared by every file
of the run (:attr:`KeyRing.cache`, one entry per key source), and the list of
sources tried, for the hint of a "no key worked" error. It also gathers the age
identities, in one documented order.

Every available source is loaded and all identities are tried together, as sops
does (not "first source wins"):

1. ``ENCFILE_AGE_KEY``, then ``SOPS_AGE_KEY``: identities in the variable itself.
2. ``ENCFILE_AGE_KEY_FILE``, then ``SOPS_AGE_KEY_FILE``: an identity file.
3. sops's default file: ``$XDG_CONFIG_HOME/sops/age/keys.txt`` (else
   ``~/.config/sops/age/keys.txt``; macOS ``~/Library/Application Support/sops/age/keys.txt``;
   Windows ``%AppData%\\sops\\age\\keys.txt``).
4. encfile's default file: the same folders with ``encfile/keys.txt``.
   Any of these files may be passphrase-protected (``age -p``); the CLI asks
   for the passphrase on the terminal (the library takes a ``passphrase``
   callback), after checking that the scrypt work factor is at most 20.
   Then ssh keys, for files with ssh recipients: ``SOPS_AGE_SSH_PRIVATE_KEY_FILE``
   (as sops), else ``~/.ssh/id_ed25519`` and ``~/.ssh/id_rsa``.
5. ``ENCFILE_AGE_KEY_CMD``, then ``SOPS_AGE_KEY_CMD``: a command (split like a
   shell would, run without one) whose stdout holds identities. It runs only if
   the sources above cannot open the file, once per recipient tried, with
   ``SOPS_AGE_RECIPIENT`` set to that recipient (as sops does).
6. The OS keyring (``encfile keygen --keyring``), asked for the file's
   recipients by name, only if the sources above cannot open the file
   (``ENCFILE_NO_KEYRING=1`` turns it off).

Any of these sources may hold plugin identities (``AGE-PLUGIN-YUBIKEY-1…``) and
post-quantum ones (``AGE-SECRET-KEY-PQ-1…``); ``age.py`` says when each is tried.
A plugin is a program (``age-plugin-NAME``) found on the process's ``PATH`` and run
with the process's environment; what it asks (a PIN, a touch) goes to the
``plugin_ui`` callbacks.

A source that is missing is skipped; one that is broken is reported (without
its content) in the hint of a "no identity matched" error.
"""

from __future__ import annotations

import os
import sys

from . import age

TYPE_CHECKING = False
if TYPE_CHECKING:  # collections.abc (2 ms) stays off the start-up path
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from .age_plugins import PluginUI

KEY_VARS = ("ENCFILE_AGE_KEY", "SOPS_AGE_KEY")
KEY_FILE_VARS = ("ENCFILE_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE")
KEY_CMD_VARS = ("ENCFILE_AGE_KEY_CMD", "SOPS_AGE_KEY_CMD")
SSH_KEY_VAR = "SOPS_AGE_SSH_PRIVATE_KEY_FILE"
#: Variables that carry identities, so ``exec`` can strip them from a child's environment.
IDENTITY_VARS = KEY_VARS + KEY_FILE_VARS + KEY_CMD_VARS + (SSH_KEY_VAR,)
_CMD_TIMEOUT = 60


def _warn_mode(path: str, mode: int) -> None:
    import warnings

    from ..errors import EncfileWarning

    warnings.warn(f"key file '{path}' is readable by other users (mode {mode & 0o777:04o}); "
                  f"run: chmod 600 '{path}'", EncfileWarning, stacklevel=4)


# Paths are plain strings here: pathlib costs 3 ms of imports on every ``encfile -d``.
def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or os.path.expanduser("~")


def _config_home(env: Mapping[str, str]) -> str:
    """The user's configuration folder, as Go's ``os.UserConfigDir`` computes it."""
    if sys.platform == "win32":
        return env.get("APPDATA") or os.path.join(_home(env), "AppData", "Roaming")
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        return xdg
    if sys.platform == "darwin":
        return os.path.join(_home(env), "Library", "Application Support")
    return os.path.join(_home(env), ".config")


def sops_default_key_file(env: Mapping[str, str] | None = None) -> str:
    return os.path.join(_config_home(os.environ if env is None else env), "sops", "age",
                        "keys.txt")


def default_key_file(env: Mapping[str, str] | None = None) -> str:
    """encfile's own default identity file (``encfile keygen`` suggests it)."""
    return os.path.join(_config_home(os.environ if env is None else env), "encfile", "keys.txt")


class KeyRing:
    """The keys of one run: identities gathered from every source (loaded once, on first
    use), and the state the key sources share.

    ``identities``: explicit identity strings (``AGE-SECRET-KEY-1…``, and plugin and
    post-quantum ones). When given, the environment and default files are not
    consulted unless ``use_environment=True``. ``plugin_ui``: what answers an age
    plugin's messages and questions (``age_plugins.PluginUI``: ``display_message``,
    ``confirm``, ``request_public_string``, ``request_passphrase``); without it every
    question fails and is noted in :attr:`tried`.
    """

    def __init__(
        self,
        identities: Sequence[str] = (),
        *,
        use_environment: bool | None = None,
        env: Mapping[str, str] | None = None,
        passphrase: Callable[[str], str | None] | None = None,
        decryption_order: Sequence[str] | None = None,
        plugin_ui: PluginUI | None = None,
    ) -> None:
        self._explicit = list(identities)
        #: Answers age plugins' questions (the CLI's terminal); None: nobody to ask.
        self.plugin_ui = plugin_ui
        # Asked for the passphrase of a protected identity file (the CLI asks on the tty).
        self._passphrase = passphrase
        self._use_env = (not identities) if use_environment is None else use_environment
        self._env = dict(os.environ if env is None else env)
        self._loaded: list[Any] | None = None
        self._cmd_cache: dict[str, list[Any]] = {}
        self._keyring_asked: set[str] = set()  # recipients already looked up
        self._keyring_found: list[Any] = []
        self._keyring_down = False
        self._ssh: list[Any] | None = None
        self._found: dict[str, list[Any]] = {}  # source -> its identities (describe())
        self.tried: list[str] = []
        #: Per key source, whatever it keeps for the rest of the run (clients, answers).
        self.cache: dict[str, Any] = {}
        #: The kinds of keys to try first, in this order (``SOPS_DECRYPTION_ORDER``); empty:
        #: the cheap sources of every kind first, then the others.
        self.decryption_order: list[str] = list(decryption_order) if decryption_order \
            is not None else [k.strip() for k in self._env.get("SOPS_DECRYPTION_ORDER", "")
                              .split(",") if k.strip()] if self._use_env else []

    @property
    def env(self) -> Mapping[str, str]:
        """The environment the key sources read (``os.environ`` unless one was given)."""
        return self._env

    @property
    def uses_environment(self) -> bool:
        return self._use_env

    def ask_passphrase(self, source: str) -> str | None:
        """The passphrase for ``source``, from the caller's callback (None: none given)."""
        return self._passphrase(source) if self._passphrase is not None else None

    # -- static sources -------------------------------------------------------------

    def _add(self, name: str, text: str, out: list[Any]) -> None:
        if age.is_encrypted_identity_file(text):
            self.tried.append(f"{name}: passphrase-protected identity files are not supported yet")
            return
        parsed = age.parse_identities(text)
        out.extend(parsed.identities)
        self._found[name] = parsed.identities
        summary = f"{len(parsed.identities)} identit{'y' if len(parsed.identities) == 1 else 'ies'}"
        plugged = [i.name for i in parsed.identities if isinstance(i, age.PluginIdentity)]
        if plugged:
            summary += " (" + ", ".join(
                f"{plugged.count(n)} post-quantum" if n == "pq" else
                f"{plugged.count(n)} for age-plugin-{n}" for n in sorted(set(plugged))) + ")"
        if parsed.errors:
            summary += " (" + "; ".join(parsed.errors) + ")"
        self.tried.append(f"{name}: {summary}")

    def _add_file(self, name: str, path: str, out: list[Any], *, required: bool) -> None:
        try:
            with open(path, "rb") as f:
                data = f.read()
                mode = os.fstat(f.fileno()).st_mode
            if mode & 0o077 and age.SECRET_PREFIX.encode() in data.upper():
                _warn_mode(path, mode)
            if age.scrypt_work_factor(data) is not None:
                self._add_protected(name, data, out)
                return
            text = data.decode("utf-8")
        except FileNotFoundError:
            if required:
                self.tried.append(f"{name}: file {str(path)!r} not found")
            else:
                self.tried.append(f"{name}: not present")
            return
        except (OSError, UnicodeDecodeError) as err:
            self.tried.append(f"{name}: cannot read {str(path)!r} ({type(err).__name__})")
            return
        self._add(name, text, out)

    def _add_protected(self, name: str, data: bytes, out: list[Any]) -> None:
        """A passphrase-protected identity file (``age -p``): ask, then read it."""
        if self._passphrase is None:
            self.tried.append(f"{name}: passphrase-protected, and no terminal to ask for it")
            return
        factor = age.scrypt_work_factor(data) or 0
        if factor > age.MAX_SCRYPT_WORK_FACTOR:
            self.tried.append(f"{name}: passphrase-protected with scrypt work factor {factor}, "
                              f"above the limit of {age.MAX_SCRYPT_WORK_FACTOR}: not opened")
            return
        secret = self._passphrase(name)
        if secret is None:
            self.tried.append(f"{name}: passphrase-protected, and no terminal to ask for it "
                              "(or no passphrase given)")
            return
        try:
            text = age.decrypt_identity_file(data, secret)
        except ValueError as err:
            self.tried.append(f"{name}: passphrase-protected: {err}")
            return
        self._add(f"{name} (passphrase-protected)", text, out)

    def identities(self) -> list[Any]:
        """All identities from the explicit list and the static sources."""
        if self._loaded is not None:
            return self._loaded
        out: list[Any] = []
        if self._explicit:
            self._add("identities passed in", "\n".join(self._explicit), out)
        if self._use_env:
            env = self._env
            for var in KEY_VARS:
                if env.get(var):
                    self._add(var, env[var], out)
            for var in KEY_FILE_VARS:
                if env.get(var):
                    self._add_file(f"{var}={env[var]}", os.path.expanduser(env[var]), out,
                                   required=True)
            seen: set[str] = set()
            for path in (sops_default_key_file(env), default_key_file(env)):
                if path not in seen:
                    seen.add(path)
                    self._add_file(path, path, out, required=False)
        self._loaded = out
        return out

    def describe(self) -> list[dict[str, str]]:
        """Every source with the public keys it holds (never a private key)."""
        out: list[dict[str, str]] = []
        self.identities()
        for line in self.tried:
            source, _, note = line.partition(": ")
            found = self._found.get(source, [])
            publics = [age.public_of(i) for i in found]
            out += [{"source": source, "public": p} for p in publics if p]
            plugged = [i.name for i, p in zip(found, publics, strict=True) if p is None]
            for name in sorted(set(plugged)):
                count = plugged.count(name)
                out.append({"source": source, "note": f"{count} identit"
                            f"{'y' if count == 1 else 'ies'} for age-plugin-{name} (its "
                            "recipient is known to the plugin only)"})
            if not found:
                out.append({"source": source, "note": note})
        if self._use_env and not self._env.get("ENCFILE_NO_KEYRING"):
            from . import oskeyring

            try:
                keys = oskeyring.public_keys()
                out += [{"source": f"OS keyring ({oskeyring.backend_name()})", "public": p}
                        for p in keys]
                if not keys:
                    out.append({"source": "OS keyring", "note": "no identity stored"})
            except oskeyring.KeyringUnavailable as err:
                out.append({"source": "OS keyring", "note": err.message})
        for var in KEY_CMD_VARS:
            if self._use_env and self._env.get(var):
                out.append({"source": var, "note": "a command, run only when needed"})
        return out

    # -- ssh keys -------------------------------------------------------------------------

    def ssh_identities(self) -> list[Any]:
        """ssh private keys, for files with ``ssh-ed25519``/``ssh-rsa`` recipients (read once)."""
        if self._ssh is not None:
            return self._ssh
        self._ssh = []
        if not self._use_env:
            return self._ssh
        env = self._env
        if env.get(SSH_KEY_VAR):
            paths = [(f"{SSH_KEY_VAR}={env[SSH_KEY_VAR]}", os.path.expanduser(env[SSH_KEY_VAR]),
                      True)]
        else:
            home = _home(env)
            paths = [(os.path.join(home, ".ssh", n), os.path.join(home, ".ssh", n), False)
                     for n in ("id_ed25519", "id_rsa")]
        for name, path, required in paths:
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                self.tried.append(f"{name}: {'file not found' if required else 'not present'}")
                continue
            except OSError as err:
                self.tried.append(f"{name}: cannot read ({type(err).__name__})")
                continue
            try:
                self._ssh.append(age.parse_ssh_identity(data))
                self.tried.append(f"{name}: 1 ssh identity")
            except ValueError as err:
                self.tried.append(f"{name}: {err}")
        return self._ssh

    # -- the OS keyring ------------------------------------------------------------------

    def keyring_identities(self, recipients: Sequence[str]) -> list[Any]:
        """Identities the OS keyring holds for these recipients (asked once)."""
        if not self._use_env or self._env.get("ENCFILE_NO_KEYRING") or self._keyring_down:
            return []
        new = [r for r in recipients if r not in self._keyring_asked]
        if new:
            from . import oskeyring

            found: list[str] = []
            try:
                for recipient in new:
                    self._keyring_asked.add(recipient)
                    secret = oskeyring.lookup(recipient)
                    if secret:
                        found.append(secret)
            except oskeyring.KeyringUnavailable as err:
                self._keyring_down = True
                self.tried.append(f"OS keyring: {err.message}")
                return []
            if found:
                self._add("OS keyring", "\n".join(found), self._keyring_found)
            else:
                self.tried.append(f"OS keyring: no entry for the file's {len(new)} "
                                  "recipient(s)")
        return list(self._keyring_found)

    # -- command sources --------------------------------------------------------------

    def command_identities(self, recipient: str) -> list[Any]:
        """Identities printed by the ``*_AGE_KEY_CMD`` commands for ``recipient``."""
        if not self._use_env:
            return []
        if recipient in self._cmd_cache:
            return self._cmd_cache[recipient]
        out: list[Any] = []
        for var in KEY_CMD_VARS:
            command = self._env.get(var)
            if not command:
                continue
            name = f"{var} for {recipient[:12]}…"
            import shlex
            import subprocess

            try:
                argv = shlex.split(command)
                result = subprocess.run(
                    argv, capture_output=True, check=False, timeout=_CMD_TIMEOUT,
                    env={**self._env, "SOPS_AGE_RECIPIENT": recipient},
                )
            except (OSError, ValueError, subprocess.SubprocessError) as err:
                self.tried.append(f"{name}: could not run ({type(err).__name__})")
                continue
            if result.returncode != 0:
                self.tried.append(f"{name}: exited with status {result.returncode}")
                continue
            self._add(name, result.stdout.decode("utf-8", "replace"), out)
        self._cmd_cache[recipient] = out
        return out

    def has_commands(self) -> bool:
        return self._use_env and any(self._env.get(var) for var in KEY_CMD_VARS)


__all__ = ["IDENTITY_VARS", "KeyRing", "default_key_file", "sops_default_key_file"]
