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
