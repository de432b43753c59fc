"""Where one `encfile -d FILE` spends its time, phase by phase, in one fresh process.

`python benchmarks/phases.py FILE` prints one JSON object of milliseconds:

- ``floor_imports``: the cryptography binding, pyrage and the SHA-2 module, which
  benchmarks/floor.py imports too;
- ``encfile_imports``: encfile's own modules on the `-d` path (the CLI, opening, the codec);
- ``parse``: the codec's parse of the text;
- ``data_key``: recovering the data key (the age identity unwrapping its stanza);
- ``values_mac``: opening every value and checking the MAC and the layout (`open_text`
  with the key given, less a second parse);
- ``render``: the decrypted text.

`make bench` runs it in the same rounds for every row whose goal is not met, beside the
interpreter's own start (`python -c pass`), so RESULTS.md shows, case by case, where the
time above the floor goes. It uses encfile's internal modules: it is a measuring tool,
not a user of the library.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    path = sys.argv[1]
    out: dict[str, float] = {}
    clock = time.perf_counter
    t = clock()
    import pyrage  # noqa: F401
    from cryptography.hazmat.bindings._rust import openssl  # noqa: F401

    try:
        import _sha2  # noqa: F401
    except ImportError:
        import _sha512  # noqa: F401
    out["floor_imports"], t = clock() - t, clock()

    import encfile.cli
    import encfile.cli.crypt  # noqa: F401
    from encfile import datakey, formats
    from encfile.keysources.identities import KeyRing
    from encfile.metadata import Metadata
    from encfile.opening import open_text
    from encfile.tree import GcPaused

    fmt = formats.detect(path)
    codec = formats.get(fmt)
    out["encfile_imports"], t = clock() - t, clock()

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    with GcPaused(len(text)):  # as open_text parses
        parsed = codec.parse(text)
    out["parse"], t = clock() - t, clock()

    key = datakey.recover(Metadata.from_dict(parsed.metadata), KeyRing(), path)
    out["data_key"], t = clock() - t, clock()

    opened = open_text(text, fmt=fmt, label=path, _key=key)
    out["values_mac"], t = clock() - t - out["parse"], clock()

    opened.text()
    out["render"] = clock() - t
    print(json.dumps({name: round(seconds * 1000, 2) for name, seconds in out.items()}))


if __name__ == "__main__":
    main()
