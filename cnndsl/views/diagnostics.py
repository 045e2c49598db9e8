"""Errors for people and machines: text, JSON, SARIF 2.1.0 and GitHub Actions annotations.

A run collects (error, source) pairs and writes them in one format at the end,
so JSON and SARIF are one document however many files were read.
"""

from __future__ import annotations

import json

from ..core.choices import ERROR_FORMATS as FORMATS
from ..core.errors import CnnError, CnnWarning, render
from ..core.source import Source, Span, visible


def error_classes() -> list[type[CnnError]]:
    """Every kind of error, base first, in the order of their codes; then the warnings (W…), CnnWarning first."""
    found, todo = [], [CnnError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda cls: cls.code)


def _where(span: Span | None) -> dict:
    if span is None:
        return {"line": None, "column": None, "end_line": None, "end_column": None}
    return {"line": span.line, "column": span.column, "end_line": span.end_line, "end_column": span.end_column}


def _file(span: Span | None, source: Source) -> str:
    """The name of the file a span is in: a used file's, or the file analysed."""
    return (span.source(source) if span is not None else source).filename


def _uses(error: CnnError, source: Source) -> list[tuple[str, Span, str]]:
    """(file, span, message) of each `use` that led to the file of the error, the nearest first."""
    from ..core.source import use_chain

    return [
        (_file(use, source), use, f"`{used.filename.replace(chr(92), '/').rsplit('/', 1)[-1]}` is used here")
        for used, use in use_chain(error.span)
    ]


def _fixes(error: CnnError, source: Source) -> list[dict]:
    """Concrete edits, when the error carries them (`error.fixes(source)`)."""
    fixes = getattr(error, "fixes", None)
    if not callable(fixes):
        return []
    return [{"title": fix.title, **_where(fix.span), "text": fix.text} for fix in fixes(source)]


def as_record(error: CnnError, source: Source) -> dict:
    """One error as a JSON object; lines and columns are 1-based, ends exclusive."""
    return {
        "file": _file(error.span, source),
        **_where(error.span),
        "code": error.code,
        "severity": error.severity,
        "message": error.message,
        "hint": error.hint and str(error.hint),
        "notes": [
            *(
                {"message": f"in block `{block}`, called here", "file": _file(span, source), **_where(span)}
                for block, span in error.called_from
            ),
            *({"message": message, "file": file, **_where(span)} for file, span, message in _uses(error, source)),
        ],
        "fixes": _fixes(error, source),
    }


def format_errors(found: list[tuple[CnnError, Source]], style: str) -> str:
    """All errors of a run in one format; '' when text or github has nothing to say."""
    if style == "text":
        return "".join(render(error, source) + "\n" for error, source in found)
    if style == "github":
        return "".join(_github(error, source) + "\n" for error, source in found)
    if style == "json":
        return json.dumps([as_record(error, source) for error, source in found], indent=2) + "\n"
    if style == "sarif":
        return json.dumps(sarif(found), indent=2) + "\n"
    raise ValueError(f"unknown error format {style!r}; one of {', '.join(FORMATS)}")


def _escape_data(text: str) -> str:
    # GitHub's workflow-command escaping: % first, then line breaks.
    # Then every other control character shown escaped: the log is read in a terminal too.
    return visible(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(error: CnnError, source: Source) -> str:
    """`::error file=F,line=L,col=C,endLine=..,endColumn=..,title=CODE::message`, for Actions (`::warning` for a warning)."""
    fields = [f"file={_escape_property(_file(error.span, source))}"]
    if error.span is not None:
        span = error.span
        fields += [f"line={span.line}", f"col={span.column}", f"endLine={span.end_line}"]
        if span.end_line == span.line:
            fields.append(f"endColumn={span.end_column}")
    fields.append(f"title={_escape_property(f'cnndsl {error.code}')}")
    text = error.message + (f"\nhint: {error.hint}" if error.hint else "")
    return f"::{error.severity} {','.join(fields)}::{_escape_data(text)}"


def _sarif_region(span: Span) -> dict:
    return {"startLine": span.line, "startColumn": span.column, "endLine": span.end_line, "endColumn": span.end_column}


def _uri(filename: str) -> str:
    """A file name as a relative URI reference, as code scanning matches it to the repository."""
    from urllib.parse import quote

    return quote(filename.replace("\\", "/"))


def _sarif_location(filename: str, span: Span | None, message: str | None = None) -> dict:
    physical = {"artifactLocation": {"uri": _uri(filename)}}
    if span is not None:
        physical["region"] = _sarif_region(span)
    location = {"physicalLocation": physical}
    if message:
        location["message"] = {"text": message}
    return location


def sarif(found: list[tuple[CnnError, Source]]) -> dict:
    """A SARIF 2.1.0 log with one run: the rules are our error codes."""
    from ..core.version import __version__

    kinds = [cls for cls in error_classes() if cls not in (CnnError, CnnWarning)]
    rules = [
        {
            "id": cls.code,
            "name": cls.__name__,
            "shortDescription": {"text": (cls.__doc__ or cls.__name__).strip().splitlines()[0]},
            "fullDescription": {"text": " ".join((cls.__doc__ or cls.__name__).split())},
            "help": {"text": f"cnndsl {cls.severity} {cls.code}: see docs/errors.md for an example"},
            "defaultConfiguration": {"level": cls.severity},
        }
        for cls in kinds
    ]
    index = {cls.code: i for i, cls in enumerate(kinds)}
    results = []
    for error, source in found:
        result = {
            "ruleId": error.code,
            "level": error.severity,
            "message": {"text": error.message + (f" (hint: {error.hint})" if error.hint else "")},
            "locations": [_sarif_location(_file(error.span, source), error.span)],
        }
        if error.code in index:
            result["ruleIndex"] = index[error.code]
        related = [
            *((_file(span, source), span, f"in block `{block}`, called here") for block, span in error.called_from),
            *_uses(error, source),
        ]
        if related:
            result["relatedLocations"] = [
                {"id": i, **_sarif_location(file, span, message)} for i, (file, span, message) in enumerate(related)
            ]
        fixes = _fixes(error, source)
        if fixes:
            result["fixes"] = [
                {
                    "description": {"text": fix["title"]},
                    "artifactChanges": [
                        {
                            "artifactLocation": {"uri": _uri(source.filename)},
                            "replacements": [
                                {
                                    "deletedRegion": {
                                        "startLine": fix["line"],
                                        "startColumn": fix["column"],
                                        "endLine": fix["end_line"],
                                        "endColumn": fix["end_column"],
                                    },
                                    "insertedContent": {"text": fix["text"]},
                                }
                            ],
                        }
                    ],
                }
                for fix in fixes
            ]
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "cnndsl", "version": __version__, "rules": rules}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
