"""A scan's report as text, as JSON (for scripts) and as SARIF 2.1.0 (for code-scanning
UIs). Each is data (a string or a dict): the CLI writes it. A value appears only as
:func:`encfile.scan.finding.shown` gives it; never a line of the file."""

from __future__ import annotations

from urllib.parse import quote

from .detectors import CATEGORIES, RULES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .engine import Report
    from .finding import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/encfile/encfile/blob/main/docs/scan.md"


def _key(f: Finding) -> str | None:
    if not f.key:
        return None
    from .hints import set_path

    return set_path(f.key)


def _where(f: Finding) -> str:
    return f"{f.path}:{f.line}" + (f" (commit {f.commit[:12]})" if f.commit else "")


def text(report: Report) -> str:
    """One block per finding: where, which rule, the key, how the value is shown; then
    the hint."""
    lines = []
    for f in report.findings:
        rule = RULES[f.rule]
        what = f"{_where(f)}: {rule.name} [{f.rule}]"
        key = _key(f)
        if key:
            what += f" at {key}"
        if f.shown:
            what += f": {f.shown}"
        lines.append(what)
        if f.hint:
            lines.append(f"  hint: {f.hint}")
    return "\n".join(lines) + ("\n" if lines else "")


def finding_data(f: Finding) -> dict[str, Any]:
    rule = RULES[f.rule]
    return {"rule": f.rule, "name": rule.name, "category": rule.category,
            "source": rule.source, "path": f.path, "line": f.line,
            "column": f.column or None, "key": _key(f), "shown": f.shown or None,
            "length": f.length or None, "commit": f.commit,
            "in_head": f.in_head, "hint": f.hint}


def as_json(report: Report) -> dict[str, Any]:
    return {"version": 1, "mode": report.mode, "root": report.root,
            "findings": [finding_data(f) for f in report.findings],
            "summary": {"findings": len(report.findings), "accepted": report.accepted,
                        "blobs": report.blobs, "files": len({f.path for f in report.findings})}}


def sarif(report: Report) -> dict[str, Any]:
    from .._version import __version__

    used = sorted({f.rule for f in report.findings})
    index = {rule: i for i, rule in enumerate(used)}
    rules = []
    for rule_id in used:
        rule = RULES[rule_id]
        rules.append({
            "id": rule.id, "name": "".join(w.capitalize() for w in rule.id.split("-")),
            "shortDescription": {"text": rule.name},
            "fullDescription": {"text": rule.description},
            "help": {"text": f"{rule.description} Source: {rule.source}."},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "secret", rule.category],
                           "category": CATEGORIES[rule.category], "source": rule.source}})
    results = []
    for f in report.findings:
        region: dict[str, Any] = {"startLine": max(f.line, 1)}
        if f.column:
            region["startColumn"] = f.column
        message = RULES[f.rule].name + (f" at {_key(f)}" if f.key else "") + \
            (f": {f.shown}" if f.shown else "") + (f". {f.hint}" if f.hint else "")
        result: dict[str, Any] = {
            "ruleId": f.rule, "ruleIndex": index[f.rule], "level": "error",
            "message": {"text": message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": quote(f.path.replace("\\", "/")),
                                     "uriBaseId": "%SRCROOT%"},
                "region": region}}],
            "properties": {"shown": f.shown or None, "length": f.length or None,
                           "key": _key(f), "hint": f.hint}}
        if f.commit:
            result["properties"]["commit"] = f.commit
            result["properties"]["inHead"] = f.in_head
        results.append(result)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "encfile scan", "version": __version__,
                            "informationUri": INFORMATION_URI, "rules": rules}},
        "results": results, "columnKind": "unicodeCodePoints"}
    if report.root:
        root = report.root.replace("\\", "/").rstrip("/") + "/"
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": "file://" + quote(root)}}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
