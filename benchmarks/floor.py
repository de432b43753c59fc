"""The floor: the least a Python program must do to decrypt the benchmark's inputs.

`python benchmarks/floor.py FILE` decrypts a sops-made YAML, JSON or dotenv file of the
shape benchmarks/bench.py generates (maps of maps of strings, one value per line) and
prints what `sops -d` prints; `--exec FILE -- CMD…` runs CMD with a dotenv file's values
in its environment. It really does the work: it unwraps the data key with pyrage, opens
every value with AES-GCM under its key path, and checks the MAC, and it imports nothing
else: the cryptography Rust binding, pyrage, `_sha512` (`_sha2` from Python 3.12) and
`binascii`, and reads the text with str methods. No checks beyond the MAC, no other
shapes, no messages: a lower bound on start-up and on the work per value, measured in the
same run as encfile and sops (`make bench`), so the distance to the limit stays visible.

Written once, and not changed after: a faster floor would move the goalposts.
"""

import os
import sys
from binascii import a2b_base64

import pyrage
from cryptography.hazmat.bindings._rust import openssl

try:
    from _sha2 import sha512
except ImportError:
    from _sha512 import sha512


def _unescape(text):
    return text.replace("\\n", "\n")


def _token(cipher, token, aad):
    fields = dict(f.split(":", 1) for f in token[len("ENC[AES256_GCM,"):-1].split(","))
    data = a2b_base64(fields["data"]) + a2b_base64(fields["tag"])
    return cipher.decrypt(a2b_base64(fields["iv"]), data, aad.encode())


def _nested(lines, indent_of, key_of, value_of):
    """(key path, token) of each value, in order, for one value or one key per line."""
    stack = []
    for line in lines:
        depth = indent_of(line)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        key, value = key_of(line), value_of(line)
        if value.startswith("ENC["):
            yield ":".join([k for _, k in stack] + [key]) + ":", value
        else:
            stack.append((depth, key))


def parse(text, fmt):
    """(values as (aad, token), metadata fields, the text's lines before the metadata)."""
    meta = {}
    if fmt == "dotenv":
        body = []
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.startswith("sops_"):
                meta[key[5:].replace("age__list_0__map_", "age_")] = _unescape(value)
            else:
                body.append(line)
        return [(k + ":", v) for k, v in (line.split("=", 1) for line in body)], meta, body
    if fmt == "yaml":
        head, _, sops = text.partition("\nsops:\n")
        body = head.split("\n")
        values = list(_nested(body, lambda s: len(s) - len(s.lstrip(" ")),
                              lambda s: s.strip().split(":", 1)[0],
                              lambda s: s.split(": ", 1)[1] if ": " in s else ""))
        enc = sops.split("enc: |\n", 1)[1].split("-----END AGE ENCRYPTED FILE-----")[0]
        meta["age_enc"] = "\n".join(line.strip() for line in enc.split("\n")) + \
            "-----END AGE ENCRYPTED FILE-----\n"
        for line in sops.split("\n"):
            key, _, value = line.strip().partition(": ")
            if key in ("lastmodified", "mac"):
                meta[key] = value.strip("'\"")
        return values, meta, body
    head, _, sops = text.partition(',\n\t"sops": {')
    body = head.split("\n")
    values = list(_nested([line for line in body if '": ' in line],
                          lambda s: len(s) - len(s.lstrip("\t")),
                          lambda s: s.strip().split('"', 2)[1],
                          lambda s: s.rstrip(",").split(": ", 1)[1].strip('"')
                          if ": " in s else ""))
    for line in sops.split("\n"):
        key, _, value = line.strip().partition(": ")
        key, value = key.strip('"'), value.rstrip(",").strip('"')
        if key in ("enc", "lastmodified", "mac"):
            meta["age_enc" if key == "enc" else key] = _unescape(value)
    return values, meta, body


def decrypt(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    fmt = "dotenv" if path.endswith(".env") else "json" if path.endswith(".json") else "yaml"
    values, meta, body = parse(text, fmt)
    with open(os.environ["SOPS_AGE_KEY_FILE"]) as keys:
        identities = [pyrage.x25519.Identity.from_str(line.strip()) for line in keys
                      if line.startswith("AGE-SECRET-KEY-")]
    cipher = openssl.aead.AESGCM(pyrage.decrypt(meta["age_enc"].encode(), identities))
    plain = [_token(cipher, token, aad) for aad, token in values]
    digest = sha512()
    for value in plain:
        digest.update(value)
    mac = _token(cipher, meta["mac"], meta["lastmodified"]).decode()
    if mac != digest.hexdigest().upper():
        sys.exit("floor: MAC mismatch")
    return fmt, values, plain, body


def render(fmt, values, plain, body):
    """The body with each token replaced by its plaintext, as sops prints it."""
    swap = {}
    for (_, token), value in zip(values, plain, strict=True):
        text = value.decode()
        swap[token] = ('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
                       if fmt == "json" else text.replace("\n", "\\n"))
    out = []
    for line in body:
        at = line.find("ENC[")
        if at >= 0:
            end = line.index("]", at) + 1
            line = line[:at - (fmt == "json")] + swap[line[at:end]] + line[end + (fmt == "json"):]
        out.append(line)
    return "\n".join(out) + ("\n}\n" if fmt == "json" else "\n")


def main():
    args = sys.argv[1:]
    if args[0] == "--exec":
        _, values, plain, _ = decrypt(args[1])
        env = dict(os.environ)
        env.update((aad[:-1], value.decode()) for (aad, _), value in zip(values, plain, strict=True))
        command = args[args.index("--") + 1:]
        os.execvpe(command[0], command, env)
    sys.stdout.write(render(*decrypt(args[0])))


main()
