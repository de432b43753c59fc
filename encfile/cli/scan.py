"""``encfile scan``: the library's report (``encfile.scan``) as text, JSON or SARIF."""

from __future__ import annotations

from .. import errors
from .terminal import Out, info, note, say, tell, write_stdout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .parse import Args


def scan(a: Args) -> int:
    import json
    import os

    from ..scan import engine, report, sources
    from ..scan.baseline import Baseline, default_path
    from .scan_spec import FINDINGS_EXIT, REPORT_FORMATS

    shape = a.report_format or "text"
    if shape not in REPORT_FORMATS:
        raise errors.UsageError(f"unknown report format {shape!r}",
                                hints=[f"formats: {', '.join(REPORT_FORMATS)}"])
    if a.staged and (a.history or a.since):
        raise errors.OptionConflict("--staged and --history cannot be used together")
    if a.write_baseline and a.no_baseline and not a.baseline:
        raise errors.OptionConflict("--write-baseline and --no-baseline cannot be used "
                                    "together (name the file with --baseline)")
    mode = "staged" if a.staged else "history" if (a.history or a.since) else "tree"
    info(f"scanning {'git history' if mode == 'history' else mode} "
         f"{' '.join(a.paths) if a.paths else 'here'}")
    # a baseline that --write-baseline is about to create has nothing to accept yet
    read = a.baseline if not (a.write_baseline and a.baseline
                              and not os.path.exists(a.baseline)) else None
    found = engine.scan(a.paths, mode=mode, since=a.since, baseline=read,
                        use_default_baseline=not (a.no_baseline or (a.write_baseline
                                                                    and a.baseline)),
                        config_path=a.config,
                        include_ignored=a.include_ignored)
    if a.write_baseline:
        path = a.baseline or default_path(sources.repo_root() or os.getcwd())
        known = Baseline.load(path) if os.path.exists(path) else Baseline.new(path)
        added = known.add(found.findings)
        known.save()
        tell(f"wrote the baseline '{path}': {added} finding(s) added, "
             f"{len(known.entries)} in all")
        return 0
    if shape == "text":
        data = report.text(found).encode("utf-8", "surrogateescape")
    else:
        shaped = report.as_json(found) if shape == "json" else report.sarif(found)
        data = (json.dumps(shaped, indent=2, ensure_ascii=False) + "\n").encode()
    if a.output:
        from ..fsutil import atomic_write

        try:
            atomic_write(a.output, data)
        except OSError as err:
            raise errors.OutputError(f"cannot write '{a.output}': {err.strerror}") from None
    elif data or shape != "text":
        write_stdout(data)
    failure = found.error()
    if failure is not None:
        # the exit code of its own (exits.TABLE has it too), whatever the table says
        say("error", failure.message)
        for hint in failure.hints:
            note("hint", hint)
        note("hint", "accept known ones: encfile scan --write-baseline (with --history for "
                     "the history), then commit the baseline file")
        return FINDINGS_EXIT
    if not Out.quiet:
        accepted = f" ({found.accepted} accepted by the baseline)" if found.accepted else ""
        what = "blob(s) of git history" if mode == "history" else "file(s)"
        tell(f"no secrets found in {found.blobs} {what}{accepted}")
    return 0
