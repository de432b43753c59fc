"""What several commands share: reading their input, the run's keys, conversions."""

from __future__ import annotations

import os
import sys

from .. import errors
from .terminal import Out, PluginTerminal, ask_passphrase, info

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..keysources import MasterKey
    from ..keysources.identities import KeyRing


def keyring(a: Any = None) -> KeyRing:
    """The run's keys, asking the terminal for passphrases; ``--decryption-order`` (else
    ``$SOPS_DECRYPTION_ORDER``) says which kinds of keys to try first."""
    from ..keysources.identities import KeyRing

    order = None
    if a is not None and a.decryption_order:
        order = [k.strip() for k in str(a.decryption_order).split(",") if k.strip()]
        if len(set(order)) != len(order):
            raise errors.UsageError("--decryption-order names a kind of key twice")
    return KeyRing(passphrase=ask_passphrase, decryption_order=order,
                   plugin_ui=PluginTerminal())


def shamir_threshold(a: Any) -> int | None:
    """``--shamir-secret-sharing-threshold``, checked (None: not given)."""
    if a.shamir_threshold is None:
        return None
    try:
        value = int(a.shamir_threshold)
    except ValueError:
        value = -1
    if value < 0:
        raise errors.UsageError(f"--shamir-secret-sharing-threshold {a.shamir_threshold!r} is "
                                "not a whole number")
    return value


def read_input(path: str, input_type: str | None, *, what: str) -> tuple[str, str, str]:
    """(text, format, label) for a file name or '-' (standard input).

    Encrypted standard input without a type is told by where its metadata is (as the
    library does); plaintext needs ``--input-type`` or ``--filename-override``.
    """
    from .. import _api, formats

    if path == "-":
        data = sys.stdin.buffer.read()
        if input_type:
            return (_api.decode_text(data, "standard input", binary=input_type == "binary"),
                    input_type, "<stdin>")
        if what == "encrypting":
            raise errors.OptionConflict("encrypting standard input needs its format",
                           hints=["add --input-type yaml (json, dotenv, ini, binary) or "
                                  "--filename-override NAME"])
        text = _api.decode_text(data, "standard input")
        return text, formats.sniff_encrypted(text), "<stdin>"
    fmt = input_type or formats.detect(path)
    return _api.read_file(path, binary=fmt == "binary"), fmt, f"'{path}'"


def input_type(given: str | None) -> str | None:
    """--input-type, else the format of --filename-override's name (as in sops)."""
    if given or not Out.name_override:
        return given
    from .. import formats

    return formats.detect(Out.name_override)


def convert(docs: list[Any], input_fmt: str, output_type: str | None,
            indent: int | None = None) -> str | None:
    """The data in another format when ``--output-type`` asks for one, else None."""
    if not output_type or output_type == input_fmt:
        return None
    from .. import convert as _convert
    from .. import formats

    formats.get(output_type)  # an unknown name is an error, not a silent fallback
    return _convert.render(docs, output_type, indent)


def indent(a: Any, path: str, target: str, config_path: str | None = None) -> int | None:
    """How deep YAML or JSON written from data is indented: ``--indent``, else the config's
    ``stores: yaml|json: indent`` (as in sops), else the format's default."""
    if a.indent is not None:
        try:
            value = int(a.indent)
        except ValueError:
            value = -1
        if value < 0:
            raise errors.UsageError(f"--indent {a.indent!r} is not a whole number")
        return value
    if target not in ("yaml", "json"):
        return None
    from .. import config

    found = config.find(os.path.join(os.getcwd(), "-") if path == "-" else path,
                        explicit=config_path)
    return found.indent(target) if found is not None else None


def age_keys(flag: str | None) -> list[MasterKey]:
    """The age keys of ``--age`` (else ``$ENCFILE_AGE_RECIPIENTS``, ``$SOPS_AGE_RECIPIENTS``)."""
    from .. import keysources

    value = flag or os.environ.get("ENCFILE_AGE_RECIPIENTS") \
        or os.environ.get("SOPS_AGE_RECIPIENTS") or ""
    return keysources.from_config("age", value)


def key_context(a: Any) -> dict[str, Any]:
    """What the command line says of every key of a kind: ``--aws-profile`` and
    ``--encryption-context`` (sops's ``key:value,key:value``)."""
    context: dict[str, Any] = {}
    if a.aws_profile:
        context["aws_profile"] = a.aws_profile
    if a.encryption_context:
        pairs = {}
        for item in str(a.encryption_context).split(","):
            key, sep, value = item.partition(":")
            if not sep or not key.strip():
                raise errors.UsageError(f"--encryption-context: {item.strip()!r} is not a "
                                        "key:value pair", hints=["e.g. --encryption-context "
                                                                 "app:web,env:prod"])
            pairs[key.strip()] = value.strip()
        context["encryption_context"] = pairs
    return context


def flag_keys(a: Any) -> list[MasterKey]:
    """The keys the key flags name (``--age``, ``--pgp``, ``--kms``…), each kind falling
    back to its variable (``SOPS_AGE_RECIPIENTS``, ``SOPS_PGP_FP``…) as in sops. A kind
    encfile cannot use yet is an error that says so."""
    from .. import keysources
    from .spec import KEY_FLAGS

    context = key_context(a)
    keys: list[MasterKey] = []
    for kind, flags, _, variable, _ in KEY_FLAGS:
        dest = flags[-1].lstrip("-").replace("-", "_")
        value = a[dest] or (os.environ.get("ENCFILE_AGE_RECIPIENTS") if kind == "age" else None) \
            or os.environ.get(variable)
        if value:
            keys += keysources.from_config(kind, value, context)
    return keys


def changed_keys(a: Any, verb: str) -> list[MasterKey]:
    """The keys of rotate's ``--add-*`` (``verb="add"``) or ``--rm-*`` flags, every kind."""
    from .. import keysources
    from .spec import KEY_FLAGS

    context = key_context(a)
    keys: list[MasterKey] = []
    for kind, flags, _, _, _ in KEY_FLAGS:
        for value in a[f"{verb}_{flags[-1][2:].replace('-', '_')}"] or ():
            keys += keysources.from_config(kind, value, context)
    return keys


def refuse_keyservice(a: Any) -> None:
    """sops's key services are not provided; ``--keyservice`` says what to do instead."""
    if a.keyservice:
        raise errors.UsageError("encfile does not use sops key services (--keyservice)",
                                hints=["encfile opens files with the keys of this machine: "
                                       "give it the identity or credentials, or use sops "
                                       "for key-service setups"])


def info_config(plan: Any, prefix: str = "") -> None:
    """-v: which config (and rule) a plan came from."""
    if plan.config is not None:
        info(f"{prefix}config '{plan.config.path}': " + (
            f"rule at line {plan.rule.line}" if plan.rule else "no rule matches"))


def plan(path: str, keys: list[MasterKey], options: dict[str, Any],
         config_path: str | None, prefix: str = "", threshold: int | None = None) -> Any:
    """The creation plan for ``path`` (``-v`` says where it came from); ``threshold``
    (``--shamir-secret-sharing-threshold``) replaces the rule's."""
    from .. import config

    found = config.plan(path, keys, options, explicit=config_path)
    if threshold is not None and len(found.groups) > 1:
        if threshold > len(found.groups):
            raise errors.UsageError(f"--shamir-secret-sharing-threshold {threshold} is more "
                                    f"than the {len(found.groups)} key groups")
        found.shamir_threshold = threshold
    info_config(found, prefix)
    return found
