"""The glue between pyrage's plugin support and encfile: callbacks, PATH, messages.

Imported by ``age.py`` only when a plugin (or post-quantum) recipient or identity is
used, so the start-up path of ``encfile -d`` never loads it.

* :class:`PluginUI` is what the library takes to answer a plugin (the CLI's
  ``terminal.PluginTerminal``); :class:`Callbacks` adapts it to pyrage's four
  callbacks, which must never raise (pyrage turns an exception in one into a panic).
* :func:`resolve` makes the plugin object while encfile's own ``age-plugin-pq`` is
  findable even when ``PATH`` does not lead to it.
* Plugin text in messages is cleaned (:func:`clean`) and anything shaped like an
  identity is removed (:func:`scrub`): a plugin is another program.
"""

from __future__ import annotations

import os
from typing import Protocol, TypeVar  # off the start-up path: this module loads on demand

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

_T = TypeVar("_T")


class PluginUI(Protocol):
    """What a plugin may ask of the person (the CLI answers on the terminal). Each
    method gets the plugin's name (``yubikey``); None means "could not ask"."""

    def display_message(self, plugin: str, message: str) -> None: ...

    def confirm(self, plugin: str, message: str, yes: str, no: str | None
                ) -> bool | None: ...

    def request_public_string(self, plugin: str, description: str) -> str | None: ...

    def request_passphrase(self, plugin: str, description: str) -> str | None: ...


def clean(text: str, limit: int = 160) -> str:
    """A plugin's text for a message: printable, one line, bounded (pyrage's messages wrap
    names in Unicode isolates, which go)."""
    import unicodedata

    flat = " ".join("".join(c if c.isprintable() else "" if unicodedata.category(c) == "Cf"
                            else " " for c in text).split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def note(notes: list[str] | None, line: str) -> None:
    if notes is not None and line not in notes:
        notes.append(line)


class Callbacks:
    """pyrage's callbacks for one plugin, forwarded to the caller's :class:`PluginUI`.

    They never raise, since pyrage turns an exception in a callback into a panic: a
    failing UI counts as "could not ask", and Ctrl-C is kept and raised again once
    pyrage returns (:meth:`reraise`). What could not be asked is noted."""

    __slots__ = ("interrupt", "name", "notes", "ui")

    def __init__(self, name: str, ui: PluginUI | None, notes: list[str] | None) -> None:
        self.name, self.ui, self.notes = name, ui, notes
        self.interrupt: BaseException | None = None

    def _ask(self, what: str, call: Callable[[PluginUI], _T]) -> _T | None:
        if self.ui is None or self.interrupt is not None:
            answer = None
        else:
            try:
                answer = call(self.ui)
            except Exception as err:
                note(self.notes, f"age-plugin-{self.name}: the terminal failed "
                                 f"({type(err).__name__})")
                return None
            except BaseException as err:  # KeyboardInterrupt: raised again after pyrage
                self.interrupt = err
                return None
        if answer is None and what:
            note(self.notes, f"age-plugin-{self.name}: {what}, and there was no terminal to "
                             "answer it (or no answer)")
        return answer

    def display_message(self, message: str) -> None:
        def show(ui: PluginUI) -> bool:
            ui.display_message(self.name, message)
            return True

        if self._ask("", show) is None:
            note(self.notes, f"age-plugin-{self.name} said: {clean(message)}")

    def confirm(self, message: str, yes_string: str, no_string: str | None) -> bool | None:
        answer = self._ask(f"asked to confirm '{clean(message)}'",
                           lambda ui: ui.confirm(self.name, message, yes_string, no_string))
        return None if answer is None else bool(answer)

    def request_public_string(self, description: str) -> str | None:
        answer = self._ask(f"asked for '{clean(description)}'",
                           lambda ui: ui.request_public_string(self.name, description))
        return None if answer is None else str(answer)

    def request_passphrase(self, description: str) -> str | None:
        answer = self._ask(f"asked for a secret ('{clean(description)}')",
                           lambda ui: ui.request_passphrase(self.name, description))
        return None if answer is None else str(answer)

    def reraise(self) -> None:
        if self.interrupt is not None:
            err, self.interrupt = self.interrupt, None
            raise err


def pq_plugin_folder() -> str | None:
    """Where encfile's own ``age-plugin-pq`` is, when ``PATH`` does not lead to one (an
    encfile run by its full path from a virtual environment that is not activated)."""
    import shutil
    import sys
    import sysconfig

    if shutil.which("age-plugin-pq"):
        return None
    for folder in (os.path.dirname(sys.executable), sysconfig.get_path("scripts")):
        if folder and shutil.which("age-plugin-pq", path=folder):
            return folder
    return None


def resolve(names: Iterable[str], build: Callable[[], _T]) -> _T:
    """``build()`` (pyrage finds a plugin's program on ``PATH`` when the plugin object is
    made); for ``pq``, with encfile's own folder searched last if needed. PATH is as it
    was once the object exists: the plugin is started later, by its full path."""
    folder = pq_plugin_folder() if "pq" in names else None
    if folder is None:
        return build()
    old = os.environ.get("PATH")
    os.environ["PATH"] = f"{old}{os.pathsep}{folder}" if old else folder
    try:
        return build()
    finally:
        if old is None:
            del os.environ["PATH"]
        else:
            os.environ["PATH"] = old


def missing_hint(name: str) -> str:
    if name == "pq":
        return ("age-plugin-pq comes with encfile: reinstall encfile, or put the folder of "
                "its programs on PATH")
    return f"install age-plugin-{name} and put it on PATH"


def plugin_failure(err: Exception, notes: list[str] | None, names: Iterable[str]) -> None:
    """Note why a decryption with plugins failed, when a plugin said so: pyrage names the
    plugin (``'age-plugin-x' couldn't use an identity: …``) or the kind of error
    (``(internal) …``); its "no matching keys" and header errors are not a plugin's."""
    text = scrub(str(err))
    if not text.startswith("(") and "plugin" not in text.lower():
        return
    note(notes, text if "age-plugin-" in text else f"age-plugin-{'/'.join(names)}: {text}")


_IDENTITY = r"(?i)AGE-(?:PLUGIN-[A-Z0-9+._-]+?-|SECRET-KEY-(?:PQ-)?)1[02-9AC-HJ-NP-Z]{8,}"


def scrub(text: str) -> str:
    """A plugin's error, cleaned, without anything shaped like an identity (a plugin might
    echo one back)."""
    import re

    return clean(re.sub(_IDENTITY, "<identity>", clean(text, 2000)), 300)
