"""Creation rules: ``.encfile.yaml`` and ``.sops.yaml``.

The schema is sops's ``creation_rules`` (spec section 9): the first rule whose
``path_regex`` matches the file's path, relative to the config's folder, says
which keys (or ``key_groups`` with a ``shamir_threshold``) a new file is
encrypted for, and which of the encryption rules applies.

Where encfile differs from sops:

* the search starts in the **target file's folder**, walking up to the root,
  and only then in the working directory, where sops starts (getsops/sops#242);
  the nearest folder with a config wins, and in one folder ``.encfile.yaml``
  wins over ``.sops.yaml``. ``--config FILE``, ``ENCFILE_CONFIG`` and
  ``SOPS_CONFIG`` name the file directly;
* a rule is checked only when it is chosen for a file (as sops does): one broken
  rule does not stop the others;
* ``path_regex`` is a Python regular expression (RE2's syntax is nearly a
  subset; a pattern Python cannot compile is an error with its line);
* encfile-only top-level keys (``exec``, ``max_age``) are allowed; sops ignores
  them, so a ``.sops.yaml`` holding them stays readable by sops;
* ``destination_rules`` (``encfile publish``) are read as sops reads them, with the
  keys of ``encfile.publish`` (AWS Secrets Manager) besides; their ``path_regex``
  sees the same path as a creation rule's (sops matches the path as typed);
* keys sops knows but encfile does not use (``hckms`` keys, a rule's
  ``filename_regex``) are accepted with a warning; an unknown key is an error naming
  its line.
"""

from __future__ import annotations

import os
import re
import warnings

from .errors import ConfigError, EncfileWarning, RecipientError
from .rules import RULE_NAMES

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and dataclasses stay off exec's start-up path
    from collections.abc import Mapping, Sequence
    from typing import Any

    from .keysources import MasterKey

CONFIG_NAMES = (".encfile.yaml", ".sops.yaml")
ENV_VARS = ("ENCFILE_CONFIG", "SOPS_CONFIG")
MAX_LEVELS = 100
_RULE_OPTIONS = RULE_NAMES
# The keys of each kind, as a rule names them and as a key group does (sops's names).
RULE_KINDS = {"age": "age", "pgp": "pgp", "kms": "kms", "gcp_kms": "gcp_kms",
              "azure_keyvault": "azure_kv", "hc_vault_transit_uri": "hc_vault",
              "hckms": "hckms"}
GROUP_KINDS = {"age": "age", "pgp": "pgp", "kms": "kms", "gcp_kms": "gcp_kms",
               "azure_keyvault": "azure_kv", "hc_vault": "hc_vault", "hckms": "hckms"}
_RULE_KEYS = {"path_regex", "key_groups", "shamir_threshold", "mac_only_encrypted",
              "aws_profile", *RULE_KINDS, *_RULE_OPTIONS}
# sops keys that encfile reads past (with a warning)
_SOPS_ONLY_RULE_KEYS = {"filename_regex"}
_GROUP_KEYS = {"merge", *GROUP_KINDS}
_SOPS_ONLY_GROUP_KEYS: set[str] = set()
_TOP_KEYS = {"creation_rules", "destination_rules"}
_SOPS_ONLY_TOP_KEYS: set[str] = set()
# destination_rules (``encfile publish``): sops's keys, and encfile's Secrets Manager ones.
# sops reads a rule's keys as ``recreation_rule``; ``reencryption_rule`` is read as well
# (sops's own functional tests spell it so, and sops then ignores it).
DESTINATION_STRINGS = ("s3_bucket", "s3_prefix", "gcs_bucket", "gcs_prefix", "vault_path",
                       "vault_address", "vault_kv_mount_name", "aws_secret_name")
_DESTINATION_KEYS = {"path_regex", "vault_kv_version", "omit_extensions", "aws_secret_split",
                     "recreation_rule", "reencryption_rule", *DESTINATION_STRINGS}
ENCFILE_TOP_KEYS = {"exec", "max_age", "stores"}  # (stores: sops's, kept with the settings)


class CreationRule:
    """One ``creation_rules`` entry. Only its ``path_regex`` is looked at until the rule is
    chosen for a file (:meth:`Config.rule_for`); then :meth:`check` reads the rest, so a
    broken rule is reported only when it is used, as in sops."""

    def __init__(self, item: Any = None, line: int = 0, label: str = "") -> None:
        self.item: Any = {} if item is None else item
        self.line = line
        self.label = label
        regex = self.item.get("path_regex") if isinstance(self.item, dict) else None
        self.path_regex = regex if isinstance(regex, str) else ""
        self.key_groups: list[list[MasterKey]] = []  # the keys of each group
        self.shamir_threshold = 0
        self.options: dict[str, Any] = {}  # the rule options that are set
        self._pattern: Any = None
        self._checked = False

    def matches(self, relative_path: str) -> bool:
        """Does the rule apply? A path_regex that does not compile is an error now: the
        rule is being tried."""
        if self._pattern is None:
            self._pattern = _path_pattern(self.item, self.line, self.label)
        return self._pattern.search(relative_path) is not None

    def check(self) -> CreationRule:
        """Read and check the whole rule (once); ConfigError naming the line if it is wrong."""
        if not self._checked:
            _read_rule(self, self.item, self.label)
            self._checked = True
        return self


class Config:
    """A config file: its rules, and its other settings (``stores``, ``exec``, ``max_age``)."""

    def __init__(self, path: str, rules: list[CreationRule],
                 settings: dict[str, Any] | None = None) -> None:
        self.path = path  # the config file
        self.rules = rules
        self.settings: dict[str, Any] = settings or {}  # encfile-only top-level keys
        self.destination_rules: list[DestinationRule] = []  # for encfile publish

    @property
    def folder(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))

    def relative(self, file_path: str) -> str:
        """The path a rule's ``path_regex`` sees: relative to the config's folder, '/'-separated
        (the absolute path for a file outside that folder, as in sops)."""
        absolute = os.path.abspath(file_path)
        folder = self.folder
        if absolute.startswith(folder.rstrip(os.sep) + os.sep):
            absolute = absolute[len(folder.rstrip(os.sep)) + 1:]
        return absolute.replace(os.sep, "/")

    def indent(self, store: str) -> int | None:
        """``stores: STORE: indent: N`` (sops's output indentation for YAML and JSON)."""
        stores = self.settings.get("stores")
        entry = stores.get(store) if isinstance(stores, dict) else None
        value = entry.get("indent") if isinstance(entry, dict) else None
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"'{self.path}': stores.{store}.indent must be a whole number")
        return value

    def rule_for(self, file_path: str) -> CreationRule | None:
        """The first rule that matches ``file_path`` (checked), or None. Rules after it are
        not looked at, so one of them may be broken."""
        relative = self.relative(file_path)
        rule = next((rule for rule in self.rules if rule.matches(relative)), None)
        return rule.check() if rule is not None else None

    def destination_for(self, file_path: str) -> DestinationRule | None:
        """The first destination rule that matches ``file_path`` (checked), or None; its
        ``path_regex`` sees the same path as a creation rule's."""
        relative = self.relative(file_path)
        rule = next((r for r in self.destination_rules if r.matches(relative)), None)
        return rule.check() if rule is not None else None


class DestinationRule:
    """One ``destination_rules`` entry (sops's ``publish``): where a file is published.
    As for creation rules, only ``path_regex`` is looked at until the rule is chosen
    for a file; :meth:`check` then reads the rest. ``encfile.publish`` gives the
    values their meaning."""

    def __init__(self, item: Any, line: int, label: str) -> None:
        self.item: Any = item
        self.line = line
        self.label = label
        self.values: dict[str, Any] = {}  # the keys that are set, checked
        self.recreation: CreationRule | None = None  # its keys re-encrypt a bucket's copy
        self._pattern: Any = None
        self._checked = False

    def matches(self, relative_path: str) -> bool:
        if not isinstance(self.item, dict):
            raise ConfigError(f"{self.label} line {self.line}: a destination rule must be a "
                              "mapping")
        if self._pattern is None:
            self._pattern = _path_pattern(self.item, self.line, self.label)
        return self._pattern.search(relative_path) is not None

    def check(self) -> DestinationRule:
        if not self._checked:
            _read_destination(self, self.item, self.label)
            self._checked = True
        return self


class Plan:
    """How one file is encrypted: recipient groups, threshold, rules, and where they came from."""

    def __init__(self, groups: list[list[MasterKey]], shamir_threshold: int, rules: Any,
                 config: Config | None = None, rule: CreationRule | None = None) -> None:
        self.groups = groups
        self.shamir_threshold = shamir_threshold
        self.rules = rules  # Rules | None (None: encfile's defaults decide)
        self.config = config
        self.rule = rule


def plan(path: str, recipients: Sequence[MasterKey], options: Mapping[str, Any], *,
         explicit: str | None = None, env: Mapping[str, str] | None = None) -> Plan:
    """Keys and rules for encrypting ``path`` (``-``: standard input, from here).

    ``recipients`` (keys from ``--age`` and the like) replace the matching rule's keys;
    ``options`` (rule flags that are set) override the rule's options one by one, as in
    sops. Unlike sops, a config whose rules do not match the file is no error when keys
    are given.
    """
    from .rules import Rules

    target = os.path.join(os.getcwd(), "-") if path == "-" else path
    cfg = find(target, explicit=explicit, env=env)
    rule = cfg.rule_for(target) if cfg is not None else None
    if cfg is not None and rule is None and not recipients:
        patterns = ", ".join(repr(r.path_regex) for r in cfg.rules) or "none"
        raise ConfigError(
            f"no creation rule in '{cfg.path}' matches '{path}'",
            hints=[f"the rules' path_regex: {patterns} (matched against "
                   f"'{cfg.relative(target)}')"], remedy="recipients")
    merged = {**(rule.options if rule else {}), **options}
    rules = Rules(**merged) if merged else None
    if recipients:
        return Plan([list(recipients)], 0, rules, cfg, rule)
    if rule is not None and rule.key_groups:
        return Plan(rule.key_groups, rule.shamir_threshold, rules, cfg, rule)
    where = (f"the rule at line {rule.line} of '{cfg.path}' names no keys"
             if rule is not None and cfg is not None
             else "none given, and no .encfile.yaml or .sops.yaml")
    raise RecipientError(
        f"no keys to encrypt for: {where}",
        hints=["add a creation rule to .encfile.yaml (or .sops.yaml)",
               "'encfile keygen' creates an identity and prints its public key"],
        remedy="recipients")


def find(target: str, *, explicit: str | None = None,
         env: Mapping[str, str] | None = None) -> Config | None:
    """The config that governs ``target`` (a file path), or None when there is none.

    ``explicit`` (``--config``) and then ``ENCFILE_CONFIG``/``SOPS_CONFIG`` name the
    file directly. Otherwise the nearest config walking up from the target's folder
    wins, and without one there, the nearest walking up from the working directory
    (where sops looks), so a file outside the project still gets the project's rules.
    """
    env = os.environ if env is None else env
    chosen = explicit or next((env[v] for v in ENV_VARS if env.get(v)), None)
    if chosen:
        if not os.path.isfile(chosen):
            raise ConfigError(f"config file '{chosen}' does not exist")
        return load(chosen)
    for start in (os.path.dirname(os.path.abspath(target)), os.getcwd()):
        found = _nearest(start)
        if found is not None:
            return load(found)
    return None


def _nearest(folder: str) -> str | None:
    """The nearest config file in ``folder`` or above it."""
    for _ in range(MAX_LEVELS):
        for name in CONFIG_NAMES:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                return candidate
        if os.path.isfile(os.path.join(folder, ".sops.yml")):
            warnings.warn(f"ignoring '{os.path.join(folder, '.sops.yml')}': the config file "
                          "must be called .sops.yaml (or .encfile.yaml)", EncfileWarning,
                          stacklevel=3)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return None


_LOADED: dict[tuple[str, int, int], Config] = {}


def load(path: str) -> Config:
    """Read and check one config file (once per process while it is unchanged: commands
    over many files ask for the same config for each of them)."""
    try:
        st = os.stat(path)
        stamp = (os.path.abspath(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return _load(path)
    if stamp not in _LOADED:
        _LOADED[stamp] = _load(path)
    return _LOADED[stamp]


def _load(path: str) -> Config:
    from . import config_yaml

    label = f"'{path}'"
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read config file {label}: {err}") from None
    data = config_yaml.parse(text)  # most configs; ruamel costs 10 ms to import
    if data is None:
        data = _parse_with_ruamel(text, label)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {label} must be a mapping with 'creation_rules'")
    _check_keys(data, _TOP_KEYS | ENCFILE_TOP_KEYS, _SOPS_ONLY_TOP_KEYS, label, "")
    raw_rules = data.get("creation_rules") or []
    if not isinstance(raw_rules, list):
        raise ConfigError(f"{label} line {_line(data, 'creation_rules')}: 'creation_rules' "
                          "must be a list")
    rules = [CreationRule(item, _line(raw_rules, index), label)
             for index, item in enumerate(raw_rules)]
    settings = {k: data[k] for k in ENCFILE_TOP_KEYS if k in data}
    found = Config(path, rules, settings)
    raw_destinations = data.get("destination_rules") or []
    if not isinstance(raw_destinations, list):
        raise ConfigError(f"{label} line {_line(data, 'destination_rules')}: "
                          "'destination_rules' must be a list")
    found.destination_rules = [DestinationRule(item, _line(raw_destinations, index), label)
                               for index, item in enumerate(raw_destinations)]
    return found


def _parse_with_ruamel(text: str, label: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="rt").load(text)
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"config file {label} is not valid YAML{where}") from None
    except (TypeError, ValueError, IndexError, RecursionError):
        # ruamel's own failures on odd YAML (a map used as a key, and the like)
        raise ConfigError(f"config file {label} uses YAML that creation rules cannot hold "
                          "(e.g. a list or map as a key)") from None


def _line(node: Any, key: Any) -> int:
    """1-based line of ``key`` in a ruamel mapping (or item index in a list)."""
    lc = getattr(node, "lc", None)
    try:
        position = lc.key(key) if isinstance(node, dict) else lc.item(key)  # type: ignore[union-attr]
        return int(position[0]) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return 0


def _check_keys(node: dict[str, Any], allowed: set[str], sops_only: set[str], label: str,
                where: str) -> None:
    for key in node:
        if key in allowed:
            continue
        line = _line(node, key)
        if key in sops_only:
            warnings.warn(f"{label} line {line}: {where}'{key}' is a sops setting encfile does "
                          "not use; ignored", EncfileWarning, stacklevel=3)
            continue
        known = ", ".join(sorted(allowed))
        raise ConfigError(f"{label} line {line}: unknown key {where}'{key}'",
                          hints=[f"known keys here: {known}"])


def _keys_of(node: dict[str, Any], names: dict[str, str], label: str,
             rule: dict[str, Any]) -> list[MasterKey]:
    """The keys ``node`` (a rule or a key group) names, of every kind, in sops's order;
    a kind encfile has no module for is skipped with a warning."""
    from . import keysources

    out: list[MasterKey] = []
    for name, kind in names.items():
        value = node.get(name)
        if value is None or value == "" or value == []:
            continue
        line = _line(node, name)
        if keysources.handler(kind) is None:
            warnings.warn(f"{label} line {line}: '{name}' keys are a sops setting encfile "
                          "does not use; ignored", EncfileWarning, stacklevel=4)
            continue
        if kind == "age":
            items = value if isinstance(value, list) else [value]
            if not all(isinstance(i, str) for i in items):
                raise ConfigError(f"{label} line {line}: 'age' must be a string or a list "
                                  "of strings")
        context = {k: rule[k] for k in ("aws_profile",) if rule.get(k)}
        try:
            out += keysources.from_config(kind, value, context)
        except (ConfigError, RecipientError) as err:
            raise ConfigError(f"{label} line {line}: {err.message}", hints=err.hints) from None
    return out


def _path_pattern(item: Any, line: int, label: str) -> Any:
    if not isinstance(item, dict):
        raise ConfigError(f"{label} line {line}: a creation rule must be a mapping")
    regex = item.get("path_regex") or ""
    if not isinstance(regex, str):
        raise ConfigError(f"{label} line {_line(item, 'path_regex')}: 'path_regex' must be a "
                          "string")
    try:
        return re.compile(regex)
    except re.error as err:
        raise ConfigError(f"{label} line {_line(item, 'path_regex')}: path_regex {regex!r} is "
                          f"not a valid regular expression ({err})",
                          hints=["encfile uses Python's re; most RE2 syntax is the same"]) \
            from None


def _read_rule(rule: CreationRule, item: Any, label: str) -> None:
    """Fill in ``rule`` from its entry, checking every key."""
    line = rule.line
    _path_pattern(item, line, label)
    _check_keys(item, _RULE_KEYS, _SOPS_ONLY_RULE_KEYS, label, "")
    groups = item.get("key_groups")
    if groups:
        if not isinstance(groups, list):
            raise ConfigError(f"{label} line {_line(item, 'key_groups')}: 'key_groups' must be "
                              "a list")
        for name in RULE_KINDS:
            if item.get(name):
                warnings.warn(f"{label} line {_line(item, name)}: '{name}' is ignored: the "
                              "rule has key_groups (as in sops)", EncfileWarning, stacklevel=3)
        for g_index, group in enumerate(groups):
            keys = _group(group, _line(groups, g_index), label, item)
            if not keys:
                raise ConfigError(f"{label} line {_line(groups, g_index)}: key group "
                                  f"{g_index + 1} has no keys encfile can write for",
                                  hints=["its share of the data key would be readable by "
                                         "no one"])
            rule.key_groups.append(keys)
    else:
        keys = _keys_of(item, RULE_KINDS, label, item)
        if keys:
            rule.key_groups.append(keys)
    threshold = item.get("shamir_threshold", 0) or 0
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
        raise ConfigError(f"{label} line {_line(item, 'shamir_threshold')}: 'shamir_threshold' "
                          "must be a whole number")
    if threshold > len(rule.key_groups) and rule.key_groups:
        raise ConfigError(f"{label} line {_line(item, 'shamir_threshold')}: shamir_threshold "
                          f"{threshold} is more than the {len(rule.key_groups)} key groups")
    if threshold == 1 and len(rule.key_groups) > 1:  # sops: "threshold must be at least 2"
        raise ConfigError(f"{label} line {_line(item, 'shamir_threshold')}: a shamir_threshold "
                          "of 1 cannot split the data key between key groups",
                          hints=["use 2 or more, or put the keys in one group"])
    rule.shamir_threshold = threshold
    for name in _RULE_OPTIONS:
        value = item.get(name)
        if value:
            if not isinstance(value, str):
                raise ConfigError(f"{label} line {_line(item, name)}: '{name}' must be a string")
            rule.options[name] = value
    if item.get("mac_only_encrypted"):
        rule.options["mac_only_encrypted"] = True
    if len([n for n in _RULE_OPTIONS if n in rule.options]) > 1:
        raise ConfigError(f"{label} line {line}: a rule can use only one of "
                          + ", ".join(_RULE_OPTIONS))
    for name in _RULE_OPTIONS:
        if name.endswith("regex") and name in rule.options:
            try:
                re.compile(rule.options[name])
            except re.error as err:
                raise ConfigError(f"{label} line {_line(item, name)}: {name} "
                                  f"{rule.options[name]!r} is not a valid regular expression "
                                  f"({err})") from None


def _group(group: Any, line: int, label: str, rule: dict[str, Any]) -> list[MasterKey]:
    if not isinstance(group, dict):
        raise ConfigError(f"{label} line {line}: a key group must be a mapping")
    _check_keys(group, _GROUP_KEYS, _SOPS_ONLY_GROUP_KEYS, label, "key group ")
    keys = _keys_of(group, GROUP_KINDS, label, rule)
    merged = group.get("merge") or []
    if not isinstance(merged, list):
        raise ConfigError(f"{label} line {_line(group, 'merge')}: 'merge' must be a list")
    for index, sub in enumerate(merged):  # sops merges nested groups into this one
        keys += _group(sub, _line(merged, index), label, rule)
    return keys


def _read_destination(rule: DestinationRule, item: dict[str, Any], label: str) -> None:
    """Fill in ``rule`` from its entry: every key known and of its type, one destination."""
    _check_keys(item, _DESTINATION_KEYS, set(), label, "")
    for name, value in item.items():
        line = _line(item, name)
        if value is None or name == "path_regex":
            continue
        if name in DESTINATION_STRINGS and not isinstance(value, str):
            raise ConfigError(f"{label} line {line}: '{name}' must be a string")
        if name in ("omit_extensions", "aws_secret_split") and not isinstance(value, bool):
            raise ConfigError(f"{label} line {line}: '{name}' must be true or false")
        if name == "vault_kv_version" and (isinstance(value, bool) or value not in (1, 2)):
            raise ConfigError(f"{label} line {line}: 'vault_kv_version' must be 1 or 2")
        if name in ("recreation_rule", "reencryption_rule"):
            if "recreation_rule" in item and "reencryption_rule" in item:
                raise ConfigError(f"{label} line {line}: a destination rule takes "
                                  "'recreation_rule' or 'reencryption_rule', not both")
            if not isinstance(value, dict):
                raise ConfigError(f"{label} line {line}: '{name}' must be a mapping (keys "
                                  "as in a creation rule)")
            rule.recreation = CreationRule(value, line, label)
            continue
        rule.values[name] = value
    named = [n for n in ("s3_bucket", "gcs_bucket", "vault_path", "aws_secret_name")
             if rule.values.get(n)]
    if len(named) != 1:
        raise ConfigError(f"{label} line {rule.line}: a destination rule needs exactly one of "
                          "s3_bucket, gcs_bucket, vault_path or aws_secret_name"
                          + (f" (it has {', '.join(named)})" if named else ""))
