"""The commands sops has that encfile answers without a library behind them:
``keyservice`` (refused, saying what to use) and ``completion`` (the shell script)."""

from __future__ import annotations

from .. import errors

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .parse import Args


def keyservice(a: Args) -> None:
    raise errors.UsageError(
        "encfile does not provide sops's key service",
        hints=["run 'sops keyservice' on the machine that holds the keys, or give this "
               "machine its own key (an age identity, a KMS role, a Vault token)"])


def completion(a: Args) -> int:
    """``completion bash|zsh|fish``: the script typer writes, for ``source <(…)``."""
    from . import app

    shell = str(a.shell or "").lower()
    if shell not in ("bash", "zsh", "fish"):
        raise errors.UsageError(f"no completion for the shell {a.shell!r}",
                                hints=["encfile completion bash (or zsh, fish)"])
    return app.show_completion(shell)
