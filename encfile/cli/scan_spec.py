"""The tables of ``encfile scan`` (see ``spec.py``)."""

from __future__ import annotations

from .spec import CONFIG, Arg, Command, Opt

REPORT_FORMATS = ("text", "json", "sarif")
FINDINGS_EXIT = 10  # the code of encfile.scan.errors.FindingsError in exits.TABLE


def command() -> Command:
    return Command(
        "scan", "encfile.cli.scan:scan", "Find secrets that are not encrypted yet.",
        help="Scan the working tree (or, with --history, every blob in git history; with "
             "--staged, what the next commit adds) for hardcoded credentials: cloud keys, "
             "tokens, private keys, JWTs, passwords in URLs and assignments, high-entropy "
             "config values, and clear values that creation rules say must be encrypted. "
             "A value is never shown: at most its first 4 characters and its length. Each "
             "finding has a hint: the command that encrypts it, or, for a secret git "
             "history holds, that it must be rotated. Needs the scan extra: pip install "
             "'encfile-sops[scan]'.",
        example="encfile scan --history --format sarif -o scan.sarif",
        exits=f"0 nothing found; {FINDINGS_EXIT} secrets found (and not accepted by the "
              "baseline); 1 a usage error, or the scan extra is missing; 2 unreadable input, "
              "a bad baseline, or not in a git repository (--history, --staged).",
        options=(
            Opt("--history", help="Scan every blob reachable in git history (all refs), "
                                  "each once, at the first commit, path and line that hold "
                                  "it."),
            Opt("--since", metavar="REV", help="With --history: only the commits after REV "
                                               "(e.g. origin/main); implies --history."),
            Opt("--staged", help="Scan what is staged for the next commit (the files it "
                                 "adds or changes), as staged: the pre-commit check."),
            Opt("--format", dest="report_format", metavar="FORMAT", choices=REPORT_FORMATS,
                help="text (default), json for scripts, or sarif (SARIF 2.1.0) for "
                     "code-scanning UIs."),
            Opt("-o", "--output", metavar="FILE", complete="file",
                help="Write the report to FILE (atomically) instead of standard output."),
            Opt("--baseline", metavar="FILE", complete="file",
                help="Accept the known findings listed in FILE (default: "
                     ".encfile-scan-baseline.json at the top of the repository, when it "
                     "is there). The file holds fingerprints, never the secrets."),
            Opt("--write-baseline", help="Add every finding to the baseline file (FILE of "
                                         "--baseline, else the default) instead of "
                                         "reporting them; exits 0."),
            Opt("--no-baseline", help="Do not read the default baseline file."),
            Opt("--include-ignored", help="In a repository, also scan the files git "
                                          "ignores (local .env files, say)."),
            CONFIG,
        ),
        args=(Arg("paths", "PATH", "Files or folders (default: here).", nargs="*"),))
