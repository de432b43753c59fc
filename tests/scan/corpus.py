"""The scanner's test corpus: a repository with planted secrets and look-alikes.

Written before any detector was tuned, and kept as the measure of them: every kind of
secret that issue 20 lists, at least three times each (some only in git history), and
at least three look-alikes of every kind it lists. Every secret's body is random, drawn
at test time; look-alikes are either the published examples themselves (AWS's
``AKIAIOSFODNN7EXAMPLE``) or random too (hashes, SHAs, UUIDs, real public keys and
certificates made with ``cryptography``).

:func:`build` writes the files, commits them in several commits, removes the
history-only ones in a later commit (deleting a file, or overwriting the secret), and
leaves some files uncommitted. Each :class:`Plant` says where its value is: the path
and line in the working tree, or in the commit that first held it.
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
import subprocess
import uuid
from pathlib import Path
from typing import Any

#: What issue 20 asks the scanner to find, as the kinds the test counts recall by.
SECRET_KINDS = (
    "aws", "gcp", "azure",                                       # cloud keys
    "github", "gitlab", "slack", "stripe", "npm", "pypi",        # tokens
    "pem", "openssh", "jwt",                                     # private keys, JWTs
    "url-password", "password-assignment",                       # passwords
    "high-entropy",                                              # config values
    "clear-in-encrypted", "plaintext-by-rule",                   # encrypted-file awareness
)
#: What it must not report.
LOOKALIKE_KINDS = (
    "doc-example", "placeholder", "lockfile-hash", "git-sha", "uuid", "image-digest",
    "age-recipient", "ssh-public-key", "certificate", "encrypted-value",
)

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
HEX = "0123456789abcdef"
# Password characters that need no quoting in YAML, dotenv, INI or a URL's user info.
PASSWORD = ALNUM + "-_.!%+"

# tree: written, never committed; both: committed and still there; history: committed,
# then removed (the file deleted, or the value overwritten)
TREE, BOTH, HISTORY = "tree", "both", "history"


class Plant:
    """A planted value: ``kind``, where (``path``, first ``line`` and all its ``lines``)
    and when (``state``: tree, both or history; ``commit``: the first commit holding it)."""

    def __init__(self, kind: str, value: str | None, path: str, line: int, lines: set[int],
                 state: str) -> None:
        self.kind, self.value, self.path, self.line = kind, value, path, line
        self.lines, self.state = lines, state
        self.commit: str | None = None

    @property
    def in_tree(self) -> bool:
        return self.state in (TREE, BOTH)

    @property
    def in_history(self) -> bool:
        return self.state in (BOTH, HISTORY)

    def __repr__(self) -> str:
        return f"Plant({self.kind}, {self.path}:{self.line}, {self.state})"


class Corpus:
    def __init__(self, root: Path, seed: int) -> None:
        self.root, self.seed = root, seed
        self.secrets: list[Plant] = []
        self.lookalikes: list[Plant] = []


class _Mark:
    def __init__(self, kind: str, value: str | None, secret: bool) -> None:
        self.kind, self.value, self.secret = kind, value, secret


def S(kind: str, value: str | None) -> _Mark:
    """A planted secret inside a file template."""
    return _Mark(kind, value, True)


def L(kind: str, value: str) -> _Mark:
    """A look-alike inside a file template."""
    return _Mark(kind, value, False)


class _File:
    def __init__(self, path: str, parts: list[str | _Mark], state: str,
                 after: list[str | _Mark] | None, whole: _Mark | None) -> None:
        self.path, self.parts, self.state, self.after, self.whole = path, parts, state, after, whole


def _render(parts: list[str | _Mark]) -> tuple[str, list[tuple[_Mark, int, set[int]]]]:
    text, marks = "", []
    for part in parts:
        if isinstance(part, _Mark):
            line = text.count("\n") + 1
            value = part.value or ""
            marks.append((part, line, set(range(line, line + value.count("\n") + 1))))
            text += value
        else:
            text += part
    return text, marks


class Gen:
    """Random bodies, from an ``random.Random`` seeded at test time."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def raw(self, n: int) -> bytes:
        return bytes(self.rng.getrandbits(8) for _ in range(n))

    def b64(self, n: int) -> str:
        return base64.b64encode(self.raw(n)).decode()

    def b64url(self, data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    def password(self) -> str:
        # at least one letter, one digit and one symbol, like a generated password
        body = [self.rng.choice(string.ascii_letters), self.rng.choice(string.digits),
                self.rng.choice("-_.!%+")] + [self.rng.choice(PASSWORD)
                                              for _ in range(self.rng.randint(11, 21))]
        self.rng.shuffle(body)
        return "".join(body)

    def aws_id(self) -> str:
        return self.rng.choice(("AKIA", "ASIA")) + self.chars(string.ascii_uppercase + "234567", 16)

    def aws_secret(self) -> str:
        return self.chars(B64, 40)

    def github(self, style: int) -> str:
        if style == 1:
            return "github_pat_" + self.chars(ALNUM, 22) + "_" + self.chars(ALNUM, 59)
        return self.rng.choice(("ghp_", "gho_", "ghs_")) + self.chars(ALNUM, 36)

    def gitlab(self) -> str:
        return self.rng.choice(("glpat-", "gldt-", "glrt-")) + self.chars(ALNUM + "_-", 20)

    def slack(self, style: int) -> str:
        if style == 1:
            return ("https://hooks.slack.com/services/T" + self.chars(string.ascii_uppercase
                                                                      + string.digits, 10)
                    + "/B" + self.chars(string.ascii_uppercase + string.digits, 10) + "/"
                    + self.chars(ALNUM, 24))
        return (self.rng.choice(("xoxb-", "xoxp-")) + self.chars(string.digits, 12) + "-"
                + self.chars(string.digits, 13) + "-" + self.chars(ALNUM.lower(), 24))

    def stripe(self) -> str:
        return self.rng.choice(("sk_live_", "rk_live_")) + self.chars(ALNUM, self.rng.choice(
            (24, 99)))

    def npm(self) -> str:
        return "npm_" + self.chars(ALNUM, 36)

    def pypi(self) -> str:
        return "pypi-AgEIcHlwaS5vcmc" + self.chars(B64URL, self.rng.randint(120, 160))

    def jwt(self) -> str:
        header = {"alg": self.rng.choice(("HS256", "RS256")), "typ": "JWT"}
        payload = {"sub": self.chars(ALNUM, 12), "iat": self.rng.randint(1_600_000_000,
                                                                         1_800_000_000),
                   "scope": self.rng.choice(("admin", "read write", "deploy"))}
        return ".".join((self.b64url(json.dumps(header).encode()),
                         self.b64url(json.dumps(payload).encode()),
                         self.b64url(self.raw(32))))

    def pem(self, style: int) -> str:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        if style == 0:
            key: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            fmt = serialization.PrivateFormat.TraditionalOpenSSL
        elif style == 1:
            key = ec.generate_private_key(ec.SECP256R1())
            fmt = serialization.PrivateFormat.TraditionalOpenSSL
        else:
            key = ec.generate_private_key(ec.SECP384R1())
            fmt = serialization.PrivateFormat.PKCS8
        return key.private_bytes(serialization.Encoding.PEM, fmt,
                                 serialization.NoEncryption()).decode().rstrip("\n")

    def openssh(self) -> str:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        key = ed25519.Ed25519PrivateKey.generate()
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                 serialization.NoEncryption()).decode().rstrip("\n")

    def ssh_public(self) -> str:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        key = ed25519.Ed25519PrivateKey.generate().public_key()
        return key.public_bytes(serialization.Encoding.OpenSSH,
                                serialization.PublicFormat.OpenSSH).decode() + " deploy@ci"

    def certificate(self) -> str:
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        host = self.chars(string.ascii_lowercase, 8) + ".example.org"
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
        now = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + dt.timedelta(days=365))
                .sign(key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM).decode().rstrip("\n")

    def age_recipient(self) -> str:
        import encfile

        return str(encfile.generate_identity().public)


def _indent(block: str, spaces: int) -> str:
    return block.replace("\n", "\n" + " " * spaces)


def _files(g: Gen, test_public: str) -> list[_File]:
    """Every file of the corpus with its secrets and look-alikes marked."""
    import encfile

    out: list[_File] = []

    def f(path: str, state: str, *parts: str | _Mark, after: list[str | _Mark] | None = None,
          whole: _Mark | None = None) -> None:
        out.append(_File(path, list(parts), state, after, whole))

    # -- cloud keys ------------------------------------------------------------------------
    ids = [g.aws_id() for _ in range(4)]
    keys = [g.aws_secret() for _ in range(4)]
    f("deploy/aws-credentials", BOTH, "[default]\naws_access_key_id = ", S("aws", ids[0]),
      "\naws_secret_access_key = ", S("aws", keys[0]), "\nregion = eu-west-1\n")
    f("app/.env.production", TREE, "APP_ENV=production\nAWS_ACCESS_KEY_ID=", S("aws", ids[1]),
      "\nAWS_SECRET_ACCESS_KEY=", S("aws", keys[1]), "\n")
    f("scripts/upload.py", HISTORY, "import boto3\n\nclient = boto3.client(\n    \"s3\",\n"
      "    aws_access_key_id=\"", S("aws", ids[2]), "\",\n    aws_secret_access_key=\"",
      S("aws", keys[2]), "\",\n)\n",
      after=["import boto3\n\nclient = boto3.client(\"s3\")  # credentials from the role\n"])
    f("infra/terraform.tfvars", HISTORY, "region = \"eu-west-1\"\naws_access_key = \"",
      S("aws", ids[3]), "\"\naws_secret_key = \"", S("aws", keys[3]), "\"\n")

    for i, (path, state) in enumerate((("gcp/service-account.json", BOTH),
                                       ("deploy/gcp-ci-key.json", TREE),
                                       ("old/gcp-legacy.json", HISTORY))):
        project = g.chars(string.ascii_lowercase, 8) + "-" + g.chars(string.digits, 6)
        doc = {"type": "service_account", "project_id": project,
               "private_key_id": g.chars(HEX, 40), "private_key": g.pem(0) + "\n",
               "client_email": f"ci-{i}@{project}.iam.gserviceaccount.com",
               "client_id": g.chars(string.digits, 21),
               "auth_uri": "https://accounts.google.com/o/oauth2/auth",
               "token_uri": "https://oauth2.googleapis.com/token"}
        f(path, state, whole=S("gcp", json.dumps(doc, indent=2) + "\n"))

    storage = [f"DefaultEndpointsProtocol=https;AccountName={g.chars(string.ascii_lowercase, 12)}"
               f";AccountKey={g.b64(64)};EndpointSuffix=core.windows.net" for _ in range(2)]
    bus = [f"Endpoint=sb://{g.chars(string.ascii_lowercase, 10)}.servicebus.windows.net/;"
           f"SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={g.b64(32)}"
           for _ in range(2)]
    f("web/appsettings.json", BOTH, "{\n  \"ConnectionStrings\": {\n    \"Storage\": \"",
      S("azure", storage[0]), "\"\n  },\n  \"Logging\": {\"LogLevel\": {\"Default\": "
      "\"Information\"}}\n}\n")
    f("worker/.env", TREE, "QUEUE_NAME=orders\nSERVICEBUS_CONNECTION=\"", S("azure", bus[0]),
      "\"\n")
    f("worker/config.yaml", HISTORY, "queue:\n  name: orders\n  connection: \"",
      S("azure", bus[1]), "\"\n", after=["queue:\n  name: orders\n  connection: "
                                         "\"${SERVICEBUS_CONNECTION}\"\n"])
    f("web/storage.ini", HISTORY, "[storage]\nconnection_string = ", S("azure", storage[1]),
      "\n")

    # -- tokens ----------------------------------------------------------------------------
    f("ci/github.env", BOTH, "GITHUB_TOKEN=", S("github", g.github(0)), "\nGH_REPO=org/app\n")
    f(".github/workflows/release.yml", HISTORY, "jobs:\n  release:\n    steps:\n"
      "      - run: gh release create\n        env:\n          GH_TOKEN: ",
      S("github", g.github(1)), "\n",
      after=["jobs:\n  release:\n    steps:\n      - run: gh release create\n        env:\n"
             "          GH_TOKEN: ${{ secrets.GH_TOKEN }}\n"])
    f("tools/mirror.py", TREE, "import requests\n\nHEADERS = {\"Authorization\": \"token ",
      S("github", g.github(0)), "\"}\n")
    f("tools/fetch.sh", BOTH, "#!/bin/sh\ncurl -H \"Authorization: Bearer ",
      S("github", g.github(1)), "\" https://api.github.com/user\n")

    f(".gitlab-ci.yml", BOTH, "variables:\n  DEPLOY_USER: deploy\n  GITLAB_API: ",
      S("gitlab", g.gitlab()), "\n")
    f("ci/gitlab.env", HISTORY, "CI_API_TOKEN=", S("gitlab", g.gitlab()), "\n")
    f("tools/gitlab_sync.py", TREE, "client = Gitlab(url, private_token=\"",
      S("gitlab", g.gitlab()), "\")\n")

    f("chat/notify.yaml", BOTH, "slack:\n  channel: \"#deploys\"\n  bot: ",
      S("slack", g.slack(0)), "\n")
    f("chat/hooks.env", HISTORY, "SLACK_WEBHOOK=", S("slack", g.slack(1)), "\n")
    f("chat/alert.js", TREE, "const hook = \"", S("slack", g.slack(1)), "\";\n")
    f("chat/bot.ini", HISTORY, "[bot]\nchannel = ops\nbot_credential = ", S("slack", g.slack(0)),
      "\n")

    f("billing/settings.py", BOTH, "STRIPE_KEY = \"", S("stripe", g.stripe()), "\"\n")
    f("billing/.env", TREE, "STRIPE_API=", S("stripe", g.stripe()), "\n")
    f("billing/config.json", HISTORY, "{\n  \"stripe\": {\n    \"key\": \"",
      S("stripe", g.stripe()), "\"\n  }\n}\n")

    f(".npmrc", BOTH, "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=",
      S("npm", g.npm()), "\n")
    f("frontend/.npmrc", HISTORY, "//npm.pkg.github.com/:_authToken=", S("npm", g.npm()), "\n")
    f("frontend/publish.yaml", TREE, "publish:\n  registry: https://registry.npmjs.org/\n"
      "  npm: ", S("npm", g.npm()), "\n")

    f(".pypirc", BOTH, "[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\n"
      "password = ", S("pypi", g.pypi()), "\n")
    f("release/pypirc", HISTORY, "[pypi]\nusername = __token__\npassword = ",
      S("pypi", g.pypi()), "\n")
    f("release/upload.sh", TREE, "#!/bin/sh\ntwine upload -u __token__ -p ",
      S("pypi", g.pypi()), " dist/*\n")

    # -- private keys and JWTs -------------------------------------------------------------
    f("deploy/tls.key", BOTH, whole=S("pem", g.pem(0) + "\n"))
    f("k8s/ingress-tls.yaml", HISTORY, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
      "  name: ingress\ndata:\n  tls.key: |\n    ", S("pem", _indent(g.pem(1), 4)), "\n")
    f("config/signing.env", TREE, "SIGNING_KEY=\"", S("pem", g.pem(2)), "\"\n")

    f(".ssh/id_ed25519", HISTORY, whole=S("openssh", g.openssh() + "\n"))
    f("ansible/deploy_key", BOTH, whole=S("openssh", g.openssh() + "\n"))
    f("ansible/vars.yml", TREE, "deploy_user: ops\ndeploy_ssh: |\n  ",
      S("openssh", _indent(g.openssh(), 2)), "\n")

    f("api/.env", BOTH, "API_BASE=https://api.internal\nSERVICE_JWT=", S("jwt", g.jwt()), "\n")
    f("api/client.ts", HISTORY, "const bearer = \"", S("jwt", g.jwt()), "\";\n")
    f("api/fixtures.yaml", TREE, "client:\n  session: ", S("jwt", g.jwt()), "\n")

    # -- passwords -------------------------------------------------------------------------
    f("db/.env", BOTH, "DATABASE_URL=postgres://app:", S("url-password", g.password()),
      "@db.internal:5432/app\n")
    f("db/compose.yml", HISTORY, "services:\n  worker:\n    environment:\n"
      "      - BROKER=amqp://worker:", S("url-password", g.password()),
      "@rabbit:5672/\n", after=["services:\n  worker:\n    environment:\n"
                                "      - BROKER=${BROKER_URL}\n"])
    f("db/migrate.py", TREE, "ENGINE = create_engine(\"mysql://root:",
      S("url-password", g.password()), "@localhost/shop\")\n")

    f("db/settings.yaml", BOTH, "database:\n  host: db.internal\n  user: app\n  password: \"",
      S("password-assignment", g.password()), "\"\n")
    f("services/mail.env", HISTORY, "SMTP_HOST=mail.internal\nSMTP_SECRET=",
      S("password-assignment", g.password()), "\n")
    f("services/ldap.py", TREE, "LDAP_PASSWORD = \"", S("password-assignment", g.password()),
      "\"\n")
    f("services/cache.ini", BOTH, "[redis]\nhost = cache.internal\npassword = ",
      S("password-assignment", g.password()), "\n")

    # -- high entropy values in config files -----------------------------------------------
    f("config/session.yaml", BOTH, "session:\n  cookie_name: sid\n  signing: ",
      S("high-entropy", g.b64(32)), "\n")
    f("config/cache.json", HISTORY, "{\n  \"cache\": {\n    \"seed\": \"",
      S("high-entropy", g.chars(HEX, 48)), "\"\n  }\n}\n")
    f("config/webhooks.env", TREE, "WEBHOOK_SIGNING=", S("high-entropy", g.b64(33)), "\n")
    f("config/crypto.ini", HISTORY, "[crypt]\ncookie_seal = ", S("high-entropy", g.chars(HEX, 56)),
      "\n")

    # -- encrypted files: clear values, and plaintext where a rule wants encryption --------
    for path, fmt, state in (("secrets/db.enc.yaml", "yaml", BOTH),
                             ("secrets/api.enc.json", "json", HISTORY),
                             ("secrets/app.enc.env", "dotenv", TREE)):
        plain = {"yaml": "db:\n  user: app\n  pass: placeholder-value\n",
                 "json": "{\n  \"api\": {\n    \"pass\": \"placeholder-value\"\n  }\n}\n",
                 "dotenv": "APP_USER=app\nAPP_PASS=placeholder-value\n"}[fmt]
        text = encfile.encrypt(plain, recipients=test_public, format=fmt)
        word = g.chars(string.ascii_lowercase, 10)
        head, _, tail = text.partition("\n")
        if fmt == "yaml":   # someone without the key added a value in clear
            f(path, state, "db:\n  region: ", S("clear-in-encrypted", word), "\n",
              text.partition("db:\n")[2])
        elif fmt == "json":
            f(path, state, "{\n  \"region\": \"", S("clear-in-encrypted", word), "\",\n",
              text.partition("{\n")[2])
        else:
            f(path, state, "APP_REGION=", S("clear-in-encrypted", word), "\n", text)
        del head, tail

    f("secrets/staging.yaml", BOTH, S("plaintext-by-rule", None), "region: eu-west-1\n"
      "replicas: 3\n")
    f("secrets/old.json", HISTORY, S("plaintext-by-rule", None), "{\"region\": \"eu-west-2\"}\n")
    f("secrets/local.env", TREE, S("plaintext-by-rule", None), "REGION=eu-west-3\n")

    # -- look-alikes -----------------------------------------------------------------------
    f("docs/aws.md", BOTH, "# AWS\n\n```ini\n[default]\naws_access_key_id = ",
      L("doc-example", "AKIAIOSFODNN7EXAMPLE"), "\naws_secret_access_key = ",
      L("doc-example", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), "\n```\n")
    f("docs/api.md", HISTORY, "Send the token:\n\n    Authorization: Bearer ",
      L("doc-example", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZ"
                       "SI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36"
                       "POk6yJV_adQssw5c"), "\n")
    f("examples/billing.yaml", TREE, "stripe:\n  key: ", L("doc-example",
                                                          "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
      "\n  aws: ", L("doc-example", "AKIAI44QH8DHBEXAMPLE"), "\n")

    f("config/defaults.yaml", BOTH, "database:\n  password: ", L("placeholder", "changeme"),
      "\n  replica_password: \"", L("placeholder", "${REPLICA_PASSWORD}"), "\"\n")
    f("config/.env.example", BOTH, "API_KEY=", L("placeholder", "your-api-key-here"),
      "\nAPP_SECRET=", L("placeholder", "<your-secret>"), "\nDB_PASSWORD=\n")
    f("chart/values.yaml", HISTORY, "auth:\n  existingSecret: \"\"\n  password: \"",
      L("placeholder", "{{ .Values.global.password }}"), "\"\n  token: \"",
      L("placeholder", "xxxxxxxxxxxxxxxxxxxxxxxx"), "\"\n")

    sri = "sha512-" + g.b64(64)
    f("frontend/package-lock.json", BOTH, "{\n  \"name\": \"frontend\",\n  \"lockfileVersion\": 3,"
      "\n  \"packages\": {\n    \"node_modules/left-pad\": {\n      \"version\": \"1.3.0\",\n"
      "      \"integrity\": \"", L("lockfile-hash", sri), "\"\n    }\n  }\n}\n")
    f("poetry.lock", BOTH, "[[package]]\nname = \"idna\"\nversion = \"3.7\"\nfiles = [\n"
      "    {file = \"idna-3.7.tar.gz\", hash = \"", L("lockfile-hash", "sha256:" + g.chars(HEX, 64)),
      "\"},\n]\n")
    f("go.sum", HISTORY, "github.com/pkg/errors v0.9.1 ", L("lockfile-hash", "h1:" + g.b64(32)),
      "\n")

    f(".pre-commit-config.yaml", BOTH, "repos:\n  - repo: https://github.com/psf/black\n"
      "    rev: ", L("git-sha", g.chars(HEX, 40)), "\n    hooks: [{id: black}]\n")
    f("build/version.json", HISTORY, "{\n  \"commit\": \"", L("git-sha", g.chars(HEX, 40)),
      "\",\n  \"branch\": \"main\"\n}\n")
    f("build/.env", TREE, "GIT_COMMIT=", L("git-sha", g.chars(HEX, 40)), "\n")
    f("build/release.py", BOTH, "REVISION = \"", L("git-sha", g.chars(HEX, 40)), "\"\n")

    f("azure/app.yaml", BOTH, "azure:\n  tenant_id: ", L("uuid", str(uuid.UUID(bytes=g.raw(16),
                                                                            version=4))),
      "\n  client_id: ", L("uuid", str(uuid.UUID(bytes=g.raw(16), version=4))), "\n")
    f("azure/ids.json", HISTORY, "{\"subscriptionId\": \"",
      L("uuid", str(uuid.UUID(bytes=g.raw(16), version=4))), "\"}\n")
    f("azure/ids.env", TREE, "CORRELATION_NAMESPACE=",
      L("uuid", str(uuid.UUID(bytes=g.raw(16), version=4))), "\n")

    f("k8s/deploy.yaml", BOTH, "spec:\n  containers:\n    - name: app\n      image: ",
      L("image-digest", "ghcr.io/org/app@sha256:" + g.chars(HEX, 64)), "\n")
    f("Dockerfile", BOTH, "FROM ", L("image-digest", "python:3.12-slim@sha256:" + g.chars(HEX, 64)),
      "\nCOPY . /app\n")
    f("k8s/images.json", HISTORY, "{\"digest\": \"", L("image-digest", "sha256:" + g.chars(HEX, 64)),
      "\"}\n")

    f(".sops.yaml", BOTH, "creation_rules:\n  - path_regex: (^|/)secrets/\n    age: ",
      L("age-recipient", test_public), "\n")
    f("docs/keys.md", BOTH, "Encrypt for the ops team: `", L("age-recipient", g.age_recipient()),
      "`\n")
    f("ops/recipients.yaml", HISTORY, "recipients:\n  - ", L("age-recipient", g.age_recipient()),
      "\n")

    f("ansible/deploy_key.pub", BOTH, whole=L("ssh-public-key", g.ssh_public() + "\n"))
    f("cloud-init.yaml", BOTH, "users:\n  - name: ops\n    ssh_authorized_keys:\n      - ",
      L("ssh-public-key", g.ssh_public()), "\n")
    f("ops/keys.env", HISTORY, "DEPLOY_PUBKEY=\"", L("ssh-public-key", g.ssh_public()), "\"\n")

    f("deploy/ca.pem", BOTH, whole=L("certificate", g.certificate() + "\n"))
    f("k8s/tls-cm.yaml", HISTORY, "kind: ConfigMap\ndata:\n  ca.crt: |\n    ",
      L("certificate", _indent(g.certificate(), 4)), "\n")
    f("web/trust.json", TREE, "{\"ca\": ", L("certificate", json.dumps(g.certificate() + "\n")),
      "}\n")

    enc_yaml = encfile.encrypt(f"token: {g.github(0)}\npassword: \"{g.password()}\"\n",
                               recipients=test_public, format="yaml")
    enc_env = encfile.encrypt(f"API_KEY={g.stripe()}\nDB_PASSWORD={g.password()}\n",
                              recipients=test_public, format="dotenv")
    f("secrets/prod.enc.yaml", BOTH, L("encrypted-value", enc_yaml))
    f("secrets/prod.enc.env", HISTORY, L("encrypted-value", enc_env))
    f("app/.env.vault", BOTH, "#/---[DOTENV_PUBLIC_KEY]---/\nDOTENV_PUBLIC_KEY=\"",
      L("encrypted-value", "02" + g.chars(HEX, 64)), "\"\nDB_PASSWORD=\"",
      L("encrypted-value", "encrypted:" + g.b64(90)), "\"\n")
    return out


def _git(root: Path, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, timeout=60)
    assert result.returncode == 0, (args, result.stderr.decode())
    return result.stdout.decode().strip()


def build(root: Path, env: dict[str, str], test_public: str, *, seed: int,
          only_lookalikes: bool = False) -> Corpus:
    """Write the corpus into ``root`` (made a git repository) and return its plants."""
    g = Gen(random.Random(seed))
    corpus = Corpus(root, seed)
    files = _files(g, test_public)
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", "-b", "main", env=env)
    if only_lookalikes:
        files = [f for f in files if not any(
            isinstance(p, _Mark) and p.secret for p in [*f.parts, f.whole] if p is not None)]

    def write(path: str, text: str) -> None:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    committed = [f for f in files if f.state in (BOTH, HISTORY)]
    # a few files per commit, in a shuffled order, so that first commits differ
    order = list(committed)
    g.rng.shuffle(order)
    for i in range(0, len(order), 3):
        batch = order[i:i + 3]
        for item in batch:
            text, marks = _render([item.whole] if item.whole else item.parts)
            write(item.path, text)
            for mark, line, lines in marks:
                plant = Plant(mark.kind, mark.value, item.path, line, lines, item.state)
                if item.whole is not None:
                    plant.lines = set(range(1, text.count("\n") + 2))
                (corpus.secrets if mark.secret else corpus.lookalikes).append(plant)
        _git(root, "add", "--", *[b.path for b in batch], env=env)
        _git(root, "commit", "-q", "-m", f"add {', '.join(b.path for b in batch)}", env=env)
        sha = _git(root, "rev-parse", "HEAD", env=env)
        for plant in [*corpus.secrets, *corpus.lookalikes]:
            if plant.commit is None and plant.path in {b.path for b in batch}:
                plant.commit = sha
    removed = [f for f in committed if f.state == HISTORY]
    for item in removed:
        if item.after is not None:
            write(item.path, _render(item.after)[0])
            _git(root, "add", "--", item.path, env=env)
        else:
            _git(root, "rm", "-q", "--", item.path, env=env)
    if removed:
        _git(root, "commit", "-q", "-m", "remove secrets", env=env)
    for item in files:
        if item.state != TREE:
            continue
        text, marks = _render([item.whole] if item.whole else item.parts)
        write(item.path, text)
        for mark, line, lines in marks:
            plant = Plant(mark.kind, mark.value, item.path, line, lines, item.state)
            if item.whole is not None:
                plant.lines = set(range(1, text.count("\n") + 2))
            (corpus.secrets if mark.secret else corpus.lookalikes).append(plant)
    return corpus


def git_env(base: dict[str, str]) -> dict[str, str]:
    """``base`` with a fixed identity for commits and no user or system git config."""
    env = dict(base)
    env.update(GIT_AUTHOR_NAME="Corpus", GIT_AUTHOR_EMAIL="corpus@example.org",
               GIT_COMMITTER_NAME="Corpus", GIT_COMMITTER_EMAIL="corpus@example.org",
               GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    return env
