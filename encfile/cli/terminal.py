"""Everything the CLI writes to the terminal, and every question it asks there.

The rules (after age's, FiloSottile/age ``cmd/age/tui.go``):

* An error is one line ``encfile: error: …``, then ``encfile: hint: …`` lines:
  lowercase, no trailing period, user input quoted as '…'. Never a traceback.
* A warning or note (``encfile: warning: …``, ``encfile: note: …``) is silenced by
  ``-q``; an error never is. ``-v`` adds ``encfile: …`` lines that say what is done.
* Results go to standard output, everything else to standard error. No colour.
* Progress only on a terminal, never with ``-q``, on one rewritten line, gone when done.
* Questions (passphrases, "apply these changes?") only on a terminal; without one the
  command fails with a hint instead of hanging.
* An age plugin's message is ``encfile: NAME plugin: …`` on standard error, even with
  ``-q`` (it asks the person to act: "touch your YubiKey"); its questions (a PIN) are
  asked on the terminal itself (``/dev/tty``), never read from standard input, and
  control characters in its text are dropped.
* Never a secret, a token or a credential in a message: at most a key path, a public
  key or a file name.
"""

from __future__ import annotations

import os
import sys

from .. import errors

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn


class Out:
    """The run's output settings (set once from the parsed options)."""

    quiet = False
    verbose = False
    force = False  # -o may write through a symlink, FIFO or device
    name_override: str | None = None  # --filename-override: rules and format from this name


def say(kind: str, message: str) -> None:
    sys.stderr.write(f"encfile: {kind}: {message}\n")


def info(message: str) -> None:
    """A ``-v`` line."""
    if Out.verbose:
        sys.stderr.write(f"encfile: {message}\n")


def tell(line: str) -> None:
    """A line about what was done (``git setup``'s changes): shown unless ``-q``."""
    if not Out.quiet:
        sys.stderr.write(f"encfile: {line}\n")


def note(kind: str, message: str) -> None:
    """A note, warning or hint that ``-q`` silences (errors are raised, never quieted)."""
    if not Out.quiet:
        say(kind, message)


def show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    """``warnings.showwarning``: the library's warnings as ``encfile: warning:`` lines."""
    note("note" if issubclass(category, errors.EncfileNote) else "warning", str(message))


class Progress:
    """``encfile: decrypting 12/200`` on one rewritten line, for long multi-file work: only
    on a terminal, never with -q, and gone once the work is done."""

    MIN_ITEMS = 20

    def __init__(self, what: str, total: int) -> None:
        self.what, self.total = what, total
        self.on = total >= self.MIN_ITEMS and not Out.quiet and sys.stderr.isatty()

    def step(self, done: int) -> None:
        if self.on:
            sys.stderr.write(f"\rencfile: {self.what} {done}/{self.total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.on:  # blank the line (no terminal escape codes)
            width = len(f"encfile: {self.what} {self.total}/{self.total}")
            sys.stderr.write("\r" + " " * width + "\r")
            sys.stderr.flush()


def has_tty() -> bool:
    try:  # only a real terminal: getpass would otherwise read standard input, echoing it
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return False
    return True


def ask_passphrase(source: str) -> str | None:
    """The passphrase of a protected identity file, asked on the terminal (None: no tty)."""
    import getpass

    if not has_tty():
        return None
    try:
        return getpass.getpass(f"encfile: passphrase for {source}: ")
    except (OSError, EOFError):
        return None


def _plugin_text(text: str) -> str:
    """A plugin's words as one line without control characters (a plugin is another
    program: it does not get to move the cursor or clear the screen)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def plugin_message(plugin: str, message: str) -> None:
    """An age plugin's message ("touch your YubiKey"), as age shows it, on standard error;
    even with -q, since it asks the person to act."""
    sys.stderr.write(f"encfile: {plugin} plugin: {_plugin_text(message)}\n")
    sys.stderr.flush()


def _tty_line(prompt: str) -> str | None:
    """One line typed on the terminal (echoed), the prompt written there too; None
    without a terminal or at end of input. Standard input is never read: it may be the
    file being decrypted."""
    try:  # unbuffered bytes: a terminal cannot seek, which text mode "r+" needs
        with open("/dev/tty", "r+b", buffering=0) as tty:
            tty.write(prompt.encode("utf-8", "replace"))
            line = tty.readline()
    except OSError:
        return None
    return line.decode("utf-8", "replace").rstrip("\r\n") if line else None


def plugin_confirm(plugin: str, message: str, yes: str, no: str | None) -> bool | None:
    """A plugin's yes/no question, on the terminal (None: no terminal, or no answer)."""
    text = f"encfile: {plugin} plugin: {_plugin_text(message)}"
    if no is None:
        return None if _tty_line(f"{text} (press enter for '{_plugin_text(yes)}') ") \
            is None else True
    for _ in range(3):
        answer = _tty_line(f"{text} [1: '{_plugin_text(yes)}', 2: '{_plugin_text(no)}'] ")
        if answer is None:
            return None
        if answer.strip() in ("1", "2"):
            return answer.strip() == "1"
    return None


def plugin_public(plugin: str, description: str) -> str | None:
    """A public value a plugin asks for (a serial number), typed on the terminal."""
    return _tty_line(f"encfile: {plugin} plugin: {_plugin_text(description)} ")


def plugin_secret(plugin: str, description: str) -> str | None:
    """A secret a plugin asks for (a PIN), read from the terminal without echo; None
    without a terminal (the plugin then fails, and the error says why)."""
    import getpass

    if not has_tty():
        return None
    try:
        return getpass.getpass(f"encfile: {plugin} plugin: {_plugin_text(description)} ")
    except (OSError, EOFError):
        return None


class PluginTerminal:
    """The answers to age plugins' questions, on this terminal: the ``plugin_ui`` of the
    run's KeyRing (``encfile.keysources.age.PluginUI``)."""

    def display_message(self, plugin: str, message: str) -> None:
        plugin_message(plugin, message)

    def confirm(self, plugin: str, message: str, yes: str, no: str | None) -> bool | None:
        return plugin_confirm(plugin, message, yes, no)

    def request_public_string(self, plugin: str, description: str) -> str | None:
        return plugin_public(plugin, description)

    def request_passphrase(self, plugin: str, description: str) -> str | None:
        return plugin_secret(plugin, description)


def confirm(question: str, *, needs: str, what: str) -> bool:
    """Ask a yes/no question on the terminal (standard input must be one); without a
    terminal, the error "``what`` needs confirmation", whose hint names ``needs`` (the
    flag that answers yes)."""
    if not sys.stdin.isatty():
        raise errors.EncfileError(f"{what} needs confirmation",
                                  hints=[f"pass {needs} to answer yes"])
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def write_stdout(data: bytes) -> None:
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


def write_stderr(text: str) -> None:
    """A result line meant for the person, not for a pipe (``updatekeys``'s plan)."""
    sys.stderr.write(text)


def fail(err: errors.EncfileError) -> NoReturn:
    """Report an error (its hints, then the flag for its remedy) and exit with its code."""
    from . import exits
    from .remedies import REMEDIES

    say("error", err.message)
    for hint in err.hints:
        say("hint", hint)
    if err.remedy in REMEDIES:
        say("hint", REMEDIES[err.remedy])
    sys.exit(exits.code_of(err))
