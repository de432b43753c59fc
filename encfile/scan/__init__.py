"""``encfile scan``: find the secrets that are not encrypted yet, in files and in git history.

The package is loaded only by the scan command (and by ``git setup --scan``'s hook when
it runs); ``import encfile`` and ``encfile -d`` never load it, nor detect-secrets, the
optional extra (``encfile-sops[scan]``) whose plugins and entropy measure it builds on.

    engine      scan(): what to read, each blob through content, first appearances,
                the baseline; returns a Report
    sources     the blobs: working-tree files, the index (staged), git history through
                one ``git cat-file --batch`` process
    content     one blob: encfile's codecs for config files (key paths, encrypted
                files, creation rules), lines for the rest
    detectors   the rules: detect-secrets' plugins, and those encfile adds on top
    lookalikes  what looks like a secret and is not (examples, placeholders, digests,
                public keys, encrypted values)
    finding     a Finding, and how a value is shown (never in full)
    hints       what to run for each finding (encrypt it, or rotate it)
    baseline    known findings, kept as salted scrypt fingerprints
    report      text, JSON and SARIF 2.1.0, as data
    errors      FindingsError (its own exit code), MissingExtraError
"""
