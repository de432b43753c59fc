"""The rules: detect-secrets' plugins, and what encfile adds on top of them.

Every rule has an id (the SARIF ``ruleId``), a name, a category and its source:
``detect-secrets <Plugin>`` for a pattern or measure taken from Yelp's detect-secrets
(its compiled ``denylist`` patterns, its keyword list and its Shannon entropy with the
plugins' limits, 4.5 for base64 and 3.0 for hex), or ``encfile`` for what it lacks.
detect-secrets' network verification is never called: only the patterns are used.

Text rules run over a whole blob (:func:`text_hits`); the keyword and entropy rules run
on the values of config files (``content.py``), and detect-secrets' keyword patterns on
the lines of other files (:func:`keyword_line_hits`).
"""

from __future__ import annotations

import functools
import re

from .errors import MissingExtraError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

CATEGORIES = {
    "cloud-key": "cloud credentials",
    "token": "API token",
    "private-key": "private key",
    "jwt": "JSON Web Token",
    "password": "password",
    "high-entropy": "high-entropy value",
    "encrypted-file": "encrypted-file rules",
}


class Rule:
    """A detector: ``rank`` orders rules whose matches overlap (lower wins)."""

    __slots__ = ("category", "description", "id", "name", "rank", "source")

    def __init__(self, id: str, name: str, category: str, source: str, rank: int,
                 description: str) -> None:
        self.id, self.name, self.category = id, name, category
        self.source, self.rank, self.description = source, rank, description

    @property
    def own(self) -> bool:
        return self.source == "encfile"


_DS = "detect-secrets "
RULES: dict[str, Rule] = {r.id: r for r in (
    # detect-secrets' plugins
    Rule("aws-access-key", "AWS access key", "cloud-key", _DS + "AWSKeyDetector", 1,
         "An AWS access key ID (AKIA…, ASIA…), or a 40-character secret next to 'aws…key'."),
    Rule("azure-storage-key", "Azure storage account key", "cloud-key",
         _DS + "AzureStorageKeyDetector", 1, "AccountKey=… of 88 characters."),
    Rule("password-in-url", "password in a URL", "password", _DS + "BasicAuthDetector", 2,
         "scheme://user:password@host"),
    Rule("github-token", "GitHub token", "token", _DS + "GitHubTokenDetector", 1,
         "ghp_, gho_, ghu_, ghs_ and ghr_ tokens."),
    Rule("gitlab-token", "GitLab token", "token", _DS + "GitLabTokenDetector", 1,
         "glpat-, gldt-, glft-, glrt-, glcbt- and other GitLab tokens."),
    Rule("jwt", "JSON Web Token", "jwt", _DS + "JwtTokenDetector", 1,
         "eyJ… with a header and payload that decode to JSON."),
    Rule("npm-token", "npm token", "token", _DS + "NpmDetector", 1,
         "//registry/:_authToken=… in .npmrc."),
    Rule("private-key", "private key", "private-key", _DS + "PrivateKeyDetector", 1,
         "BEGIN … PRIVATE KEY lines, PuTTY key files."),
    Rule("pypi-token", "PyPI token", "token", _DS + "PypiTokenDetector", 1,
         "pypi-AgEIcHlwaS5vcmc… (pypi.org and test.pypi.org)."),
    Rule("slack-token", "Slack token or webhook", "token", _DS + "SlackDetector", 1,
         "xoxb-/xoxp-/xoxa-… tokens and hooks.slack.com webhook URLs."),
    Rule("stripe-key", "Stripe key", "token", _DS + "StripeDetector", 1,
         "sk_live_ and rk_live_ keys."),
    Rule("sendgrid-key", "SendGrid key", "token", _DS + "SendGridDetector", 1, "SG.….…"),
    Rule("twilio-key", "Twilio key", "token", _DS + "TwilioKeyDetector", 1, "AC…, SK…"),
    Rule("mailchimp-key", "Mailchimp key", "token", _DS + "MailchimpDetector", 1, "…-us12"),
    Rule("discord-token", "Discord bot token", "token", _DS + "DiscordBotTokenDetector", 1,
         "Discord bot tokens."),
    Rule("telegram-token", "Telegram bot token", "token", _DS + "TelegramBotTokenDetector", 1,
         "123456789:AA…"),
    Rule("openai-key", "OpenAI key", "token", _DS + "OpenAIDetector", 1, "sk-…T3BlbkFJ…"),
    Rule("square-oauth", "Square OAuth secret", "token", _DS + "SquareOAuthDetector", 1,
         "sq0csp-…"),
    Rule("secret-keyword", "password or secret assignment", "password",
         _DS + "KeywordDetector", 2,
         "A value assigned to a key such as password, passwd, pwd, secret, api_key or "
         "private_key (detect-secrets' list), or token, credential, passphrase, access_key, "
         "secret_key, signing_key or encryption_key (encfile's additions)."),
    Rule("high-entropy-base64", "high-entropy value (base64)", "high-entropy",
         _DS + "Base64HighEntropyString", 3,
         "A value of a config file of 20 characters or more whose Shannon entropy is over "
         "4.5 bits per character."),
    Rule("high-entropy-hex", "high-entropy value (hex)", "high-entropy",
         _DS + "HexHighEntropyString", 3,
         "A hex value of a config file of 20 characters or more whose Shannon entropy is "
         "over 3.0 bits per character."),
    # encfile's additions
    Rule("aws-secret-access-key", "AWS secret access key", "cloud-key", "encfile", 1,
         "40 characters assigned to an aws…secret key, quoted or not (detect-secrets "
         "needs quotes)."),
    Rule("gcp-service-account", "GCP service-account key", "cloud-key", "encfile", 0,
         "The private_key of a JSON document whose type is service_account."),
    Rule("gcp-api-key", "Google API key", "cloud-key", "encfile", 1, "AIza… keys."),
    Rule("azure-connection-string", "Azure connection-string key", "cloud-key", "encfile", 1,
         "AccountKey=… or SharedAccessKey=… of any length (storage, Service Bus, Event "
         "Hubs, IoT Hub)."),
    Rule("github-fine-grained-token", "GitHub fine-grained token", "token", "encfile", 1,
         "github_pat_… tokens."),
    Rule("slack-app-token", "Slack app token", "token", "encfile", 1, "xapp-… tokens."),
    Rule("stripe-secret-key", "Stripe key", "token", "encfile", 1,
         "sk_/rk_ keys, live or test, of their full length (24 to 247 characters)."),
    Rule("npm-access-token", "npm access token", "token", "encfile", 1,
         "npm_… tokens anywhere, not only in .npmrc."),
    Rule("url-password", "password in a URL", "password", "encfile", 2,
         "scheme://user:password@host with every character RFC 3986 allows in a password "
         "(detect-secrets leaves out !$&'()*+,;=)."),
    Rule("pem-private-key", "private key (PEM or OpenSSH)", "private-key", "encfile", 1,
         "A whole BEGIN … PRIVATE KEY … END block, also inside a JSON string."),
    Rule("age-secret-key", "age identity", "private-key", "encfile", 1,
         "AGE-SECRET-KEY-1… (the identities encfile and sops decrypt with)."),
    Rule("sops-clear-value", "clear value in an encrypted file", "encrypted-file", "encfile", 0,
         "A value of a file with sops metadata that its rules say is encrypted, but is not "
         "an ENC[…] token (added by someone without the key)."),
    Rule("plaintext-by-rule", "plaintext file a creation rule encrypts", "encrypted-file",
         "encfile", 0,
         "A file that a creation rule's path_regex matches, with no sops metadata."),
)}


class Hit:
    """A match in a blob: offsets ``start``:``end`` of ``value`` in its text; ``key`` is
    the key path when the value came from a config file's tree."""

    __slots__ = ("end", "key", "line", "rule", "start", "value")

    def __init__(self, rule: str, start: int, end: int, value: str | None,
                 key: tuple[str | int, ...] | None = None, line: int = 0) -> None:
        self.rule, self.start, self.end, self.value = rule, start, end, value
        self.key, self.line = key, line

    def __repr__(self) -> str:
        return f"Hit({self.rule}, {self.start}:{self.end})"


class _Pattern:
    __slots__ = ("check", "group", "needles", "regex", "rule")

    def __init__(self, rule: str, regex: re.Pattern[str], group: int | None = None,
                 check: Callable[[str], bool] | None = None) -> None:
        self.rule, self.regex, self.group, self.check = rule, regex, group, check
        self.needles = _NEEDLES.get(rule, ())


#: Text that every match of a rule holds (lower case): a blob without any of them is not
#: searched with the rule's patterns. A rule not listed is always searched.
_NEEDLES: dict[str, tuple[str, ...]] = {
    "aws-access-key": ("akia", "asia", "abia", "acca", "a3t", "aws"),
    "aws-secret-access-key": ("aws",),
    "azure-storage-key": ("accountkey=",),
    "azure-connection-string": ("accountkey=", "sharedaccesskey="),
    "password-in-url": ("://",), "url-password": ("://",),
    "github-token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "github-fine-grained-token": ("github_pat_",),
    "gitlab-token": ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "gr1348941", "glcbt-",
                     "glimt-", "glptt-", "glagent-", "gloas-"),
    "jwt": ("eyj",), "npm-token": ("_authtoken",), "npm-access-token": ("npm_",),
    "private-key": ("private key", "putty-user-key"), "pem-private-key": ("private key",),
    "pypi-token": ("pypi-ag",), "slack-token": ("xox", "hooks.slack.com"),
    "slack-app-token": ("xapp-",), "stripe-key": ("k_live_",),
    "stripe-secret-key": ("k_live_", "k_test_"), "sendgrid-key": ("sg.",),
    "mailchimp-key": ("-us",), "telegram-token": (":",), "openai-key": ("t3blbkfj",),
    "square-oauth": ("sq0csp-",), "gcp-api-key": ("aiza",), "age-secret-key": ("age-secret-key-",),
}
_ALL_NEEDLES = frozenset(n for needles in _NEEDLES.values() for n in needles)


_OWN = (
    ("aws-secret-access-key", r"(?i)aws[\w.\-]{0,30}?(?:secret|private)[\w.\-]{0,20}?[\"']?"
                              r"\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])", 1),
    ("gcp-api-key", r"(?<![\w-])AIza[0-9A-Za-z_\-]{35}(?![\w-])", 0),
    ("azure-connection-string", r"(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{20,}={0,2})", 1),
    ("github-fine-grained-token", r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}"
                                  r"|github_pat_[A-Za-z0-9_]{50,255}", 0),
    ("slack-app-token", r"xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+", 0),
    ("stripe-secret-key", r"(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[0-9a-zA-Z]{24,247}"
                          r"(?![A-Za-z0-9])", 0),
    ("npm-access-token", r"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])", 0),
    ("url-password", r"(?i)\b[a-z][a-z0-9+.\-]{1,20}://[^:/?#\[\]@\s\"'`<>{}]+:"
                     r"([^/?#\[\]@\s\"'`<>{}]+)@[^\s\"'`<>@]", 1),
    ("pem-private-key", r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----"
                        r"[\s\S]{0,20000}?-----END \1-----", 0),
    ("age-secret-key", r"AGE-SECRET-KEY-(?:[A-Z0-9]+-)?1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{50,}",
     0),
)
# detect-secrets plugins: (rule, module, class, group): group None takes the first group a
# pattern has (the secret), else the whole match, as the plugin's findall does.
_PLUGINS = (
    ("aws-access-key", "aws", "AWSKeyDetector", None),
    ("azure-storage-key", "azure_storage_key", "AzureStorageKeyDetector", None),
    ("password-in-url", "basic_auth", "BasicAuthDetector", None),
    ("github-token", "github_token", "GitHubTokenDetector", 0),
    ("gitlab-token", "gitlab_token", "GitLabTokenDetector", 0),
    ("jwt", "jwt", "JwtTokenDetector", None),
    ("npm-token", "npm", "NpmDetector", 1),
    ("private-key", "private_key", "PrivateKeyDetector", None),
    ("pypi-token", "pypi_token", "PypiTokenDetector", None),
    ("slack-token", "slack", "SlackDetector", None),
    ("stripe-key", "stripe", "StripeDetector", None),
    ("sendgrid-key", "sendgrid", "SendGridDetector", None),
    ("twilio-key", "twilio", "TwilioKeyDetector", None),
    ("mailchimp-key", "mailchimp", "MailchimpDetector", None),
    ("discord-token", "discord", "DiscordBotTokenDetector", None),
    ("telegram-token", "telegram_token", "TelegramBotTokenDetector", None),
    ("openai-key", "openai", "OpenAIDetector", None),
    ("square-oauth", "square_oauth", "SquareOAuthDetector", None),
)


class _Loaded:
    patterns: list[_Pattern] | None = None
    keyword: Any = None
    b64: Any = None
    hex: Any = None
    keyword_regexes: Any = None
    denylist: re.Pattern[str] | None = None


def _import(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"detect_secrets.plugins.{module}")
    except ImportError:
        raise MissingExtraError() from None


def load() -> None:
    """Import detect-secrets' plugins (once); MissingExtraError if it is not installed."""
    if _Loaded.patterns is not None:
        return
    patterns: list[_Pattern] = [_Pattern(rule, re.compile(regex), group)
                                for rule, regex, group in _OWN]
    for rule, module, name, group in _PLUGINS:
        cls = getattr(_import(module), name)
        check = cls.is_formally_valid if rule == "jwt" else None
        patterns += [_Pattern(rule, regex, group, check) for regex in cls.denylist]
    keyword = _import("keyword")
    entropy = _import("high_entropy_strings")
    _Loaded.keyword = keyword.KeywordDetector()
    _Loaded.keyword_regexes = keyword
    _Loaded.b64 = entropy.Base64HighEntropyString()
    _Loaded.hex = entropy.HexHighEntropyString()
    # detect-secrets' keyword list, with the separators it allows made optional, plus
    # encfile's additions; matched against key names in config files
    words = [w.replace("_?", "") for w in keyword.DENYLIST]
    words += ["token", "credential", "passphrase", "accesskey", "secretkey", "signingkey",
              "encryptionkey"]
    _Loaded.denylist = re.compile("|".join(sorted(set(words), key=len, reverse=True)))
    _Loaded.patterns = patterns


def text_hits(text: str) -> list[Hit]:
    """Matches of the pattern rules anywhere in ``text``."""
    load()
    assert _Loaded.patterns is not None
    out: list[Hit] = []
    lowered = text.lower()
    present = {n for n in _ALL_NEEDLES if n in lowered}
    for pattern in _Loaded.patterns:
        if pattern.needles and present.isdisjoint(pattern.needles):
            continue
        for m in pattern.regex.finditer(text):
            group = pattern.group
            if group is None:
                group = next((i for i in range(1, (pattern.regex.groups or 0) + 1)
                              if m.group(i)), 0)
            value = m.group(group)
            if not value:
                continue
            start = m.start(group)
            if pattern.rule == "npm-token":  # the plugin's group runs to the end of the line
                value = value.split()[0].strip("'\"") if value.split() else ""
                if not value:
                    continue
            if pattern.check is not None and not pattern.check(value):
                continue
            out.append(Hit(pattern.rule, start, start + len(value), value))
    if "service_account" in text and _SERVICE_ACCOUNT.search(text):
        for m in _PRIVATE_KEY_FIELD.finditer(text):
            out.append(Hit("gcp-service-account", m.start(1), m.end(1), m.group(1)))
    return out


_SERVICE_ACCOUNT = re.compile(r'"type"\s*:\s*"service_account"')
_PRIVATE_KEY_FIELD = re.compile(r'"private_key"\s*:\s*"((?:[^"\\]|\\.)+)"')


def normalized_key(key: str) -> str:
    return re.sub(r"[\s_.\-]", "", key).lower()


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Does a key name say its value is a secret (password, db_pass, API_KEY, …)?"""
    load()
    assert _Loaded.denylist is not None
    return _Loaded.denylist.search(normalized_key(key)) is not None


def mentions_secret_key(text: str) -> bool:
    """Does any key-like word of ``text`` say secret (a blob worth parsing)?"""
    load()
    assert _Loaded.denylist is not None
    return _Loaded.denylist.search(text.lower().replace("_", "").replace("-", "")
                                   .replace(".", "")) is not None


def entropy(value: str, hexadecimal: bool) -> float:
    """detect-secrets' Shannon entropy of ``value`` over the base64 or hex charset."""
    load()
    plugin = _Loaded.hex if hexadecimal else _Loaded.b64
    return float(plugin.calculate_shannon_entropy(value))


def entropy_limit(hexadecimal: bool) -> float:
    load()
    return float((_Loaded.hex if hexadecimal else _Loaded.b64).entropy_limit)


def keyword_line_hits(path: str, text: str, line_starts: list[int]) -> list[Hit]:
    """detect-secrets' keyword patterns on each line of a file that is not a config file
    (source code, scripts, docs), with the regexes it picks for the file's type."""
    load()
    from detect_secrets.util.filetype import determine_file_type

    module = _Loaded.keyword_regexes
    regexes = module.REGEX_BY_FILETYPE.get(determine_file_type(path),
                                           module.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
    out: list[Hit] = []
    lowered = text.lower()
    if not any(w in lowered for w in ("pass", "secret", "pwd", "key", "contrase")):
        return out
    for number, start in enumerate(line_starts):
        end = line_starts[number + 1] - 1 if number + 1 < len(line_starts) else len(text)
        line = text[start:end]
        low = line.lower()
        if not any(w in low for w in ("pass", "secret", "pwd", "key", "contrase")):
            continue
        for regex, group in regexes.items():
            m = regex.search(line)
            if m and m.group(group):
                value = m.group(group)
                at = start + m.start(group)
                out.append(Hit("secret-keyword", at, at + len(value), value,
                               key=(key_before(line, m.start(group)),)))
                break
        else:  # detect-secrets wants a value that starts with a letter or digit
            for m in _QUOTED_ASSIGNMENT.finditer(line):
                if is_secret_key(m.group(1)):
                    at = start + m.start(3)
                    out.append(Hit("secret-keyword", at, at + len(m.group(3)), m.group(3),
                                   key=(m.group(1),)))
                    break
    return out


_QUOTED_ASSIGNMENT = re.compile(r"([A-Za-z_][\w.\-]*)[\"'\]]*\s*(?:=|:|:=|=>)\s*([\"'`])"
                                r"([^\"'`\n]{4,})\2")


def key_before(line: str, at: int) -> str:
    """The identifier an assignment on ``line`` gives the value at ``at``."""
    found = re.findall(r"[A-Za-z_][\w.\-]*", line[:at])
    return found[-1] if found else ""
