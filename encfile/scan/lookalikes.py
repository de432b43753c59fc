"""What looks like a secret and is not.

Each test returns the reason a value is a look-alike, or None. They come from
detect-secrets' heuristic filters where it has one (``is_sequential_string``,
``is_potential_uuid``, ``is_templated_secret``, ``is_prefixed_with_dollar_sign``,
``is_indirect_reference``, ``is_lock_file``, ``is_not_alphanumeric_string``), and from
encfile for the rest: published documentation keys, placeholders, digests in lock files,
git SHAs, image digests, public keys (age recipients, SSH public keys, certificates) and
values that are already encrypted (sops's ``ENC[…]``, dotenvx, Vault, Ansible Vault).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

#: Published example credentials (AWS's, Stripe's and jwt.io's documentation).
DOC_EXAMPLES = frozenset({
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "pk_test_TYooMQauvdEDq54NiTphI7jx",
    "sk_test_BQokikJOvBiI2HlWgH4olfQ2", "sk_test_26PHem9AhJZvU623DfE1x4sd",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "xoxb-not-a-real-token-this-will-not-work",
})
MIN_LENGTH = 6  # a shorter value of a secret-named key is a placeholder, or a switch
_JWT_IO_PAYLOAD = {"sub": "1234567890", "name": "John Doe", "iat": 1516239022}

_PLACEHOLDER_WORDS = frozenset({
    "changeme", "change_me", "change-me", "changeit", "password", "passwd", "pass",
    "secret", "secrets", "example", "sample", "dummy", "fake", "placeholder", "redacted",
    "removed", "hidden", "none", "null", "nil", "undefined", "empty", "todo", "tbd",
    "fixme", "default", "test", "testing", "foo", "bar", "foobar", "mypassword",
    "mysecret", "yourpassword", "token", "apikey", "api_key", "secret_key", "value",
    "true", "false", "yes", "no", "on", "off", "string", "required", "optional", "unset",
    "yourtoken", "yoursecret", "yourapikey", "cafebabe", "deadbeef", "changeme123",
})
# Placeholder words count only as words of their own (bounded by anything but a letter or
# digit): random bodies would otherwise hold them by chance.
_PLACEHOLDER_PARTS = re.compile(
    r"(?<![A-Za-z0-9])(?:your|example|examples|placeholder|changeme|replace|replaceme|dummy"
    r"|insert|redacted|fake|sample|here|todo|fixme|notreal|generate|generated|get|from|new"
    r"|this|the|own|put|enter|change|with|xxx+|XXX+)(?![A-Za-z0-9])"
    r"|\*\*\*|…|<[^>]*>|not[_-]a[_-]real|do[_-]?not[_-]?use", re.I)
_TEMPLATE = re.compile(
    r"\$\{[^}]*\}|\$\([^)]*\)|\{\{.*\}\}|\{%.*%\}|%\([\w.]+\)[sd]|#\{[^}]*\}|@[A-Z_]+@"
    r"|^__[A-Z0-9_]+__$|^\$[A-Za-z_]\w*$|ENV\[|process\.env|os\.environ|getenv|secretKeyRef"
    r"|^\[\[.*\]\]$|^\{[A-Za-z_][\w.]*\}$|^%[A-Z_][A-Z0-9_]*%$")
_ENV_NAME = re.compile(r"^[A-Z]+[0-9]*(?:_(?:[A-Z]+[0-9]*|[0-9]+))+$")
_PATH = re.compile(r"^(?:~|\.{1,2}|[A-Za-z]:)?[/\\][\w.\-/\\ ]*$")
_URL = re.compile(r"^[a-z][a-z0-9+.\-]*://[^\s]*$", re.I)
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)*(?:e[+-]?\d+)?$", re.I)
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9\-.]*[a-z0-9])?$")
_UUID = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}", re.I)
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_DIGEST = re.compile(r"^(?:sha(?:1|224|256|384|512)[:-]|md5[:-]|h1:|blake2b?[:-]|sha3-)", re.I)
_IMAGE_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}\b|^sha256:[0-9a-f]{64}$")
_AGE_RECIPIENT = re.compile(r"\bage1[0-9a-z]*1?[02-9ac-hj-np-z]{40,}\b")
_SSH_PUBLIC = re.compile(r"\b(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|"
                         r"sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) AAAA[0-9A-Za-z+/]+")
_PUBLIC_PEM = re.compile(r"-----BEGIN (?:CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY|X509 CRL|"
                         r"CERTIFICATE REQUEST|NEW CERTIFICATE REQUEST|TRUSTED CERTIFICATE|"
                         r"PGP PUBLIC KEY BLOCK|PGP SIGNATURE|PGP MESSAGE|"
                         r"AGE ENCRYPTED FILE|ENCRYPTED FILE)-----")
_ENCRYPTED = re.compile(r"^ENC\[[A-Z0-9_]+,|^encrypted:[A-Za-z0-9+/=]+$|^vault:v\d+:|"
                        r"^\$ANSIBLE_VAULT;|^AQICAH|^enc:")
#: Keys whose values are digests, identifiers or public material.
_NOT_SECRET_KEY = re.compile(
    r"(?:^|[^a-z])(?:hash|hashes|sha\d*|digest|checksum|integrity|commit|rev|revision|etag|"
    r"fingerprint|uuid|guid|version|image|public|pubkey|publickey|recipient|recipients|cert|"
    r"certificate|crt|ca|thumbprint|tag|build|nonce|salt|id|ids|sig|signature|signatures|"
    r"address|bitcoin|litecoin|wallet|selector|selectors|filter|filters|query)$")
#: The last word of a key that names where a secret is, not the secret.
_REFERENCE_KEY = re.compile(
    r"(?:name|names|ref|file|files|path|dir|url|uri|endpoint|host|env|enabled|type|mode|"
    r"length|size|count|ttl|timeout|expiry|expires|lifetime|format|header|field|policy|"
    r"provider|method|algorithm|issuer|audience|prefix|suffix|regex|pattern|duration|"
    r"interval|location|store|backend|class|kind|user|username|cmd|command|key|keys|"
    r"secret|secrets|hint|help|label|labels|description|arn|scope|scopes|version|modes|"
    r"annotation|annotations)$")
LOCK_FILES = frozenset({
    "brewfile.lock.json", "cartfile.resolved", "composer.lock", "gemfile.lock",
    "package.resolved", "package-lock.json", "npm-shrinkwrap.json", "podfile.lock",
    "yarn.lock", "pipfile.lock", "poetry.lock", "cargo.lock", "packages.lock.json",
    "go.sum", "pnpm-lock.yaml", "uv.lock", "flake.lock", "mix.lock", "pubspec.lock",
    "gradle.lockfile", "bun.lock", "conda-lock.yml", "deno.lock", "paket.lock",
})
_TOKEN_PREFIX = re.compile(r"^(?:ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|gl[a-z]{2,6}-|xox[a-z]-|"
                           r"xapp-|[sr]k_(?:live|test)_|npm_|pypi-AgEIcHlwaS5vcmc|AKIA|ASIA|"
                           r"SG\.|sk-|AIza|AGE-SECRET-KEY-)")


def is_lock_file(path: str) -> bool:
    name = os.path.basename(path).lower()
    return name in LOCK_FILES or name.endswith(".lock")


@functools.lru_cache(maxsize=4096)
def _words(key: str) -> tuple[str, ...]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return tuple(w.lower() for w in re.split(r"[\s_.\-:/\[\]]+", spaced) if w)


def words_of(key: str) -> list[str]:
    """``existingSecretPasswordKey`` -> existing, secret, password, key."""
    return list(_words(key))


def doc_example(value: str) -> str | None:
    if value in DOC_EXAMPLES or "EXAMPLE" in value:
        return "a documentation example"
    if value.startswith("eyJ") and value.count(".") >= 1:
        try:
            part = value.split(".")[1]
            payload = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        except (ValueError, binascii.Error):
            return None
        if payload == _JWT_IO_PAYLOAD:
            return "the jwt.io example"
    return None


def _low_diversity(body: str) -> bool:
    if len(body) < 4:
        return False
    distinct = len(set(body.lower()))
    return distinct <= 2 or (len(body) >= 12 and distinct <= 4 and
                             max(body.lower().count(c) for c in set(body.lower())) > len(body) / 2)


def _sequential(value: str) -> bool:
    from detect_secrets.filters.heuristic import is_sequential_string

    return bool(is_sequential_string(value))


def placeholder(value: str) -> str | None:
    """``changeme``, ``your-api-key-here``, ``${VAR}``, ``{{ .Values.x }}``, ``<token>``,
    ``xxxx``, an environment variable's name, a number or a boolean."""
    from detect_secrets.filters.heuristic import (
        is_indirect_reference,
        is_not_alphanumeric_string,
        is_templated_secret,
    )

    bare = value.strip().strip("'\"`")
    if len(bare) < MIN_LENGTH:
        return "too short to be a secret"
    if bare.lower() in _PLACEHOLDER_WORDS:
        return "a placeholder"
    if _TEMPLATE.search(bare) or is_templated_secret(bare):
        return "a template or variable reference"
    if _PLACEHOLDER_PARTS.search(bare):
        return "a placeholder"
    if _ENV_NAME.match(bare):
        return "the name of a variable"
    if _NUMBER.match(bare) or is_not_alphanumeric_string(bare):
        return "not a secret (no letters)"
    if _low_diversity(bare) or _sequential(bare):
        return "a placeholder (repeated or sequential characters)"
    if is_indirect_reference(f"x = {bare}") and "(" in bare:
        return "a function call"
    return None


def token_placeholder(value: str) -> str | None:
    """A token whose variable part is a placeholder: ``ghp_xxxxxxxx…``, ``sk_live_0000…``."""
    body = _TOKEN_PREFIX.sub("", value)
    if _low_diversity(body) or _sequential(body) or _PLACEHOLDER_PARTS.search(body):
        return "a placeholder token"
    return None


def encrypted(value: str) -> str | None:
    if _ENCRYPTED.search(value.strip().strip("'\"")):
        return "already encrypted"
    return None


def public_material(value: str) -> str | None:
    if _PUBLIC_PEM.search(value):
        return "a certificate or public key"
    if _SSH_PUBLIC.search(value):
        return "an SSH public key"
    if _AGE_RECIPIENT.search(value) and not value.startswith("AGE-SECRET-KEY"):
        return "an age recipient (a public key)"
    return None


def digest(value: str, key_words: Sequence[str]) -> str | None:
    """Lock-file hashes, git SHAs, image digests, UUIDs."""
    from detect_secrets.filters.heuristic import is_potential_uuid

    bare = value.strip().strip("'\"")
    if _IMAGE_DIGEST.search(bare):
        return "an image digest"
    if _DIGEST.match(bare):
        return "a content hash"
    if is_potential_uuid(bare) or _UUID.search(bare):
        return "a UUID"
    if _HEX.match(bare) and len(bare) in (40, 64, 128) and not _keyword_words(key_words):
        return "a git SHA or content hash"
    return None


def _keyword_words(key_words: Sequence[str]) -> bool:
    from .detectors import is_secret_key

    return bool(key_words) and is_secret_key("".join(key_words))


def not_secret_key(key_words: Sequence[str]) -> bool:
    """Is this key's value a digest, an identifier or public material by its name?"""
    return bool(key_words) and (_NOT_SECRET_KEY.search(key_words[-1]) is not None
                                or "public" in key_words or "pubkey" in key_words)


def reference(value: str, key_words: Sequence[str]) -> str | None:
    """A value that says where a secret is: a path, a URL without credentials, or the
    name of a Kubernetes Secret (``existingSecret: db-creds``, ``passwordKey: password``)."""
    bare = value.strip().strip("'\"")
    if _URL.match(bare) and not re.search(r"://[^/@\s]*:[^/@\s]*@", bare):
        return "a URL"
    if _PATH.match(bare) and ("/" in bare[1:] or "." in bare) and not _random_looking(bare):
        return "a file path"
    if len(key_words) >= 2 and _REFERENCE_KEY.search(key_words[-1]) \
            and _DNS_LABEL.match(bare) and ("-" in bare or "." in bare or bare.isalpha()):
        return "the name of a secret, not its value"
    return None


def _random_looking(value: str) -> bool:
    """Mixed upper case, lower case and digits with high entropy: base64 that happens to
    start with '/', not a path."""
    from .detectors import entropy

    return (any(c.isupper() for c in value) and any(c.islower() for c in value)
            and any(c.isdigit() for c in value) and entropy(value, False) > 4.2)


def for_hit(rule: str, value: str | None, key_words: Sequence[str] = ()) -> str | None:
    """Why a hit of ``rule`` on ``value`` is a look-alike (None: it is a finding)."""
    if value is None or rule in ("sops-clear-value", "plaintext-by-rule"):
        return None
    reason = doc_example(value) or encrypted(value)
    if reason:
        return reason
    if rule in ("secret-keyword", "password-in-url", "url-password", "high-entropy-base64",
                "high-entropy-hex"):
        reason = placeholder(value) or public_material(value) or digest(value, key_words)
        if reason:
            return reason
        if rule in ("secret-keyword", "high-entropy-base64", "high-entropy-hex"):
            if not_secret_key(key_words):
                return "an identifier, digest or public value, by its key"
            reason = reference(value, key_words)
        return reason
    if rule in ("private-key", "pem-private-key"):
        return None
    return token_placeholder(value)
