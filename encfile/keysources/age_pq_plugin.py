"""``age-plugin-pq``: post-quantum age keys for age clients that only know plugins.

age 1.3 reads ``age1pq1…`` recipients natively; to an older client (pyrage 1.4, age
1.1) the same string is a plugin recipient for a plugin named ``pq``, so this
program serves them over the C2SP age-plugin protocol (``recipient-v1`` to wrap a
file key, ``identity-v1`` to unwrap one). The client writes and reads the age
file; this plugin only makes and opens ``mlkem768x25519`` stanzas, with the
primitives of ``age_pq.py``. encfile drives it through pyrage; the real ``age`` 1.1
CLI can too (``age -r age1pq1…``, and ``age -d -i`` a file of ``AGE-PLUGIN-PQ-1…``
identities, which ``age-plugin-pq -identity`` makes, as age's own plugin does).

The plugin never writes a key or a file key to standard error, and it exits 0 when
the client hangs up early (age 1.1 may close the pipe before the final ``done``).
"""

from __future__ import annotations

import sys

from . import age_pq

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

_USAGE = """\
Usage:
    age-plugin-pq -identity [INPUT]

age-plugin-pq (from encfile) serves post-quantum hybrid ML-KEM-768 + X25519 age
recipients (age1pq1...) and identities to age clients through the plugin protocol.
With -identity it converts AGE-SECRET-KEY-PQ-1... identities from INPUT (default:
standard input) to AGE-PLUGIN-PQ-1... plugin identities, for age clients that do not
read post-quantum identities themselves.
"""


class ProtocolError(Exception):
    """The client broke the protocol; the plugin stops."""


Stanza = tuple[str, list[str], bytes]


def read_stanza(stream: BinaryIO) -> Stanza:
    """One stanza: ``-> tag args…``, then the body in base64 lines of 64 columns, the
    last one shorter (possibly empty)."""
    line = stream.readline()
    if not line:
        raise EOFError
    if not line.startswith(b"-> ") or not line.endswith(b"\n"):
        raise ProtocolError("malformed stanza")
    words = line[3:-1].decode("ascii", "replace").split(" ")
    if not all(words):
        raise ProtocolError("malformed stanza arguments")
    body = b""
    while True:
        row = stream.readline()
        if not row.endswith(b"\n") or len(row) > 65:
            raise ProtocolError("malformed stanza body")
        text = row[:-1].decode("ascii", "replace")
        try:
            body += age_pq.b64decode(text)
        except ValueError:
            raise ProtocolError("malformed stanza body") from None
        if len(text) < 64:
            return words[0], words[1:], body


def write_stanza(stream: BinaryIO, tag: str, args: list[str] | None = None,
                 body: bytes = b"") -> None:
    b64 = age_pq.b64encode(body)
    rows = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    if len(b64) % 64 == 0:
        rows.append("")
    stream.write(("-> " + " ".join([tag, *(args or [])]) + "\n" + "\n".join(rows) + "\n")
                 .encode("ascii"))
    stream.flush()


def _phase_one(stdin: BinaryIO) -> list[Stanza]:
    """The client's commands up to ``done`` (unknown ones, grease included, are kept for
    the caller to ignore)."""
    out: list[Stanza] = []
    while True:
        stanza = read_stanza(stdin)
        if stanza[0] == "done":
            return out
        out.append(stanza)


def _reply(stdin: BinaryIO, stdout: BinaryIO, tag: str, args: list[str],
           body: bytes = b"") -> str:
    """Send a phase-two command and return the client's answer (``ok``, ``fail``…)."""
    write_stanza(stdout, tag, args, body)
    return read_stanza(stdin)[0]


def _error(stdin: BinaryIO, stdout: BinaryIO, args: list[str], message: bytes) -> int:
    """Report an error to the client (which shows it) and end phase two."""
    _reply(stdin, stdout, "error", args, message)
    write_stanza(stdout, "done")
    return 0


def _unsupported(stdin: BinaryIO, stdout: BinaryIO, err: age_pq.Unsupported) -> int:
    """No ML-KEM in this cryptography: say so to the client."""
    return _error(stdin, stdout, ["internal"], str(err).encode())


def recipient_v1(stdin: BinaryIO, stdout: BinaryIO) -> int:
    try:
        return _recipient_v1(stdin, stdout)
    except age_pq.Unsupported as err:  # raised in phase two only: phase one does no crypto
        return _unsupported(stdin, stdout, err)


def identity_v1(stdin: BinaryIO, stdout: BinaryIO) -> int:
    try:
        return _identity_v1(stdin, stdout)
    except age_pq.Unsupported as err:
        return _unsupported(stdin, stdout, err)


def _recipient_v1(stdin: BinaryIO, stdout: BinaryIO) -> int:
    recipients: list[str] = []
    identities: list[str] = []
    file_keys: list[bytes] = []
    labels = False
    for tag, args, body in _phase_one(stdin):
        if tag == "add-recipient" and len(args) == 1:
            recipients.append(args[0])
        elif tag == "add-identity" and len(args) == 1:
            identities.append(args[0])
        elif tag == "wrap-file-key":
            file_keys.append(body)
        elif tag == "extension-labels":
            labels = True
    keys: list[bytes] = []
    for index, text in enumerate(recipients):
        try:
            keys.append(age_pq.parse_recipient(text))
        except ValueError:
            return _error(stdin, stdout, ["recipient", str(index)],
                          b"not a valid post-quantum age recipient")
    for index, text in enumerate(identities):
        try:
            keys.append(age_pq.public_bytes(age_pq.parse_identity(text)))
        except ValueError:
            return _error(stdin, stdout, ["identity", str(index)],
                          b"not a valid post-quantum age identity")
    if labels:
        _reply(stdin, stdout, "labels", [age_pq.LABEL])
    for file_index, file_key in enumerate(file_keys):
        for key in keys:
            args, body = age_pq.wrap(key, file_key)
            _reply(stdin, stdout, "recipient-stanza", [str(file_index), *args], body)
    write_stanza(stdout, "done")
    return 0


def _identity_v1(stdin: BinaryIO, stdout: BinaryIO) -> int:
    identities: list[str] = []
    files: list[list[tuple[list[str], bytes]]] = []
    for tag, args, body in _phase_one(stdin):
        if tag == "add-identity" and len(args) == 1:
            identities.append(args[0])
        elif tag == "recipient-stanza" and len(args) >= 2 and args[0].isdigit():
            index = int(args[0])
            if index == len(files):
                files.append([])
            elif index != len(files) - 1:
                raise ProtocolError("recipient-stanza file indices out of order")
            files[index].append((args[1:], body))
    seeds = []
    for index, text in enumerate(identities):
        try:
            seeds.append(age_pq.parse_identity(text))
        except ValueError:
            # An invalid identity stops all unwrapping (the protocol's rule).
            return _error(stdin, stdout, ["identity", str(index)],
                          b"not a valid post-quantum age identity")
    for file_index, stanzas in enumerate(files):
        file_key = None
        for stanza_index, (args, body) in enumerate(stanzas):
            try:
                enc = age_pq.check_stanza(args, body)
                if enc is None:
                    continue  # another recipient type: not ours to judge
                for seed in seeds:
                    file_key = age_pq.unwrap(seed, enc, body)
                    if file_key is not None:
                        break
            except age_pq.InvalidStanza as err:
                # A malformed stanza makes the whole header invalid: no file key for it.
                _reply(stdin, stdout, "error",
                       ["stanza", str(file_index), str(stanza_index)], str(err).encode())
                file_key = None
                break
            if file_key is not None:
                break
        if file_key is not None:
            _reply(stdin, stdout, "file-key", [str(file_index)], file_key)
    write_stanza(stdout, "done")
    return 0


def convert_identities(text: str) -> list[str]:
    """``AGE-SECRET-KEY-PQ-1…`` lines as ``AGE-PLUGIN-PQ-1…``; ValueError naming the line."""
    from . import bech32

    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            seed = age_pq.parse_identity(line.strip())
        except ValueError:
            raise ValueError(f"line {number} is not a post-quantum age identity") from None
        out.append(bech32.encode(age_pq.PLUGIN_HRP, seed))
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    machine = next((a.split("=", 1)[1] for a in args if a.startswith("--age-plugin=")), None)
    try:
        if machine == "recipient-v1":
            return recipient_v1(sys.stdin.buffer, sys.stdout.buffer)
        if machine == "identity-v1":
            return identity_v1(sys.stdin.buffer, sys.stdout.buffer)
    except (EOFError, BrokenPipeError):
        return 0  # the client hung up: nothing left to tell it
    except ProtocolError as err:
        sys.stderr.write(f"age-plugin-pq: error: {err}\n")
        return 1
    if machine is not None:
        sys.stderr.write(f"age-plugin-pq: error: unknown state machine {machine!r}\n")
        return 1
    if args[:1] in (["-identity"], ["--identity"]) and len(args) <= 2:
        try:
            if len(args) == 2 and args[1] != "-":
                with open(args[1], encoding="utf-8") as f:
                    text = f.read()
            else:
                text = sys.stdin.read()
            lines = convert_identities(text)
        except (OSError, UnicodeDecodeError, ValueError) as err:
            reason = err if isinstance(err, ValueError) else "cannot read the input"
            sys.stderr.write(f"age-plugin-pq: error: {reason}\n")
            return 1
        sys.stdout.write("".join(line + "\n" for line in lines))
        return 0
    sys.stderr.write(_USAGE)
    return 0 if args[:1] in (["-h"], ["--help"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
