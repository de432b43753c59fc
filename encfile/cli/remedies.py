"""The hints that name this CLI's flag for each library error's ``remedy``.

The library says what would get past a refusal (``remedy="force"``); only the CLI
knows it is spelled ``--force`` here.
"""

#: A library error's ``remedy`` as the hint that names this CLI's flag for it.
REMEDIES = {
    "recipients": "pass --age age1… (comma-separated for several), or set SOPS_AGE_RECIPIENTS",
    "extract": "add --extract PATH to print one part",
    "drop_unsupported": "pass --drop-unsupported-keys to drop them",
    "flatten": "drop --no-flatten",
    "no_flatten": "or use --no-flatten",
    "force": "pass --force to write through it",
    "allow_disk": "or pass --allow-disk-temp to accept a temp file on disk",
    "global": "or use --global",
    "no_hook": "or pass --no-hook",
    "threshold": "pass --shamir-secret-sharing-threshold N",
    "exec_file": "or name the file with -f FILE",
    "exec_flatten": "'encfile exec' turns nested keys into names like DB_PASSWORD",
}
