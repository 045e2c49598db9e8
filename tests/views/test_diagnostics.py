"""Error codes, the generated catalogue, and errors as JSON, SARIF and GitHub annotations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import cnndsl
from cnndsl.build.catalogue import PAGE, page, run_example
from cnndsl.cli import main
from cnndsl.core.errors import CnnError, CnnWarning
from cnndsl.views.diagnostics import error_classes

ROOT = Path(__file__).resolve().parent.parent.parent
LENET = str(ROOT / "examples" / "lenet.cnn")
KINDS = [cls for cls in error_classes() if cls not in (CnnError, CnnWarning)]
BLOCK_ERROR = "def down(c):\n    conv c 5x5 | pool 2\ndef stage(c):\n    down(c) | down(c*2)\ninput 12x12x3\nstage(8)\n"


def test_every_error_class_has_its_own_stable_code():
    for cls in KINDS:
        assert "code" in vars(cls), (
            f"give {cls.__name__} its own `code` and `example`, then run: python -m cnndsl.build"
        )
        assert re.fullmatch(r"W\d{3}" if cls.severity == "warning" else r"E\d{3}", cls.code)
    codes = [cls.code for cls in error_classes()]
    assert len(codes) == len(set(codes)), codes
    # Codes are a promise to users' CI configurations: these must never change.
    known = {"SyntaxProblem": "E100", "UnknownLayer": "E200", "BadArgument": "E201", "ShapeProblem": "E300"}
    assert {cls.__name__: cls.code for cls in KINDS if cls.__name__ in known} == known


def test_the_catalogue_is_current():
    assert Path(PAGE).read_text(encoding="utf-8") == page(), "run: python -m cnndsl.build"


@pytest.mark.parametrize("cls", [cls for cls in KINDS if cls.example is not None], ids=lambda cls: cls.code)
def test_each_example_in_the_catalogue_raises_its_own_kind(cls):
    output, status = run_example(cls)
    assert status == (0 if cls.severity == "warning" else 1)
    assert output.splitlines()[0].endswith(f"[{cls.code}]")
    if cls.severity == "warning":  # the model is made, and the warning is its only one
        assert [type(w) for w in cnndsl.diagnose(cls.example, "net.cnn").warnings] == [cls]
    elif not cls.example_args:  # a plain model error: the exact class, not a relative
        with pytest.raises(CnnError) as caught:
            cnndsl.analyze(cls.example, "net.cnn")
        assert type(caught.value) is cls


@pytest.mark.parametrize(
    "cls, text",
    [(cls, text) for cls in KINDS for text in cls.hint_examples],
    ids=lambda value: value.code if isinstance(value, type) else None,
)
def test_each_hint_example_raises_its_own_kind(cls, text):
    with pytest.raises(CnnError) as caught:
        cnndsl.analyze(text, "net.cnn")
    assert type(caught.value) is cls


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_json_errors_are_one_list_for_the_whole_run(tmp_path, capsys):
    a = write(tmp_path, "a.cnn", "input 4x4x3\nconv 8 5x5\n")
    b = write(tmp_path, "b.cnn", BLOCK_ERROR)
    assert main(["check", "--error-format", "json", LENET, a, b]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    first, second = json.loads(out)
    assert first == {
        "file": a,
        "line": 2,
        "column": 8,
        "end_line": 2,
        "end_column": 11,
        "code": "E300",
        "severity": "error",
        "message": "kernel 5x5 is larger than its 4x4 input",
        "hint": "input is 4x4 here; use `same` or a kernel of at most 4",
        "notes": [],
        "fixes": first["fixes"],
    }
    assert [(n["message"], n["line"], n["column"], n["end_column"]) for n in second["notes"]] == [
        ("in block `down`, called here", 4, 15, 24),
        ("in block `stage`, called here", 6, 1, 9),
    ]
    assert (second["file"], second["line"], second["column"]) == (b, 2, 12)


def test_json_and_sarif_from_check_are_documents_even_without_errors(capsys):
    assert main(["check", "--error-format", "json", LENET]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["check", "--error-format", "sarif", LENET]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["results"] == []
    assert main(["check", "--error-format", "github", LENET]) == 0
    assert capsys.readouterr().out == ""


def test_summary_and_emit_take_the_error_format(tmp_path, capsys):
    bad = write(tmp_path, "bad.cnn", "input 28x28x1\nconvv 8 3\n")
    assert main(["summary", "--error-format", "json", bad]) == 1
    assert [e["code"] for e in json.loads(capsys.readouterr().out)] == ["E200"]
    assert main(["emit", "--keras", "--error-format", "github", bad]) == 1
    assert capsys.readouterr().out.startswith(f"::error file={bad},line=2,col=1,")
    assert main(["summary", "--error-format", "json", LENET]) == 0
    assert "Total params: 62,958" in capsys.readouterr().out  # no error document after a good summary


def test_sarif_has_what_code_scanning_requires(tmp_path, capsys):
    bad = write(tmp_path, "bad.cnn", BLOCK_ERROR)
    assert main(["check", "--error-format", "sarif", bad]) == 1
    log = json.loads(capsys.readouterr().out)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"  # SARIF 2.1.0, section 3.13.3
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "cnndsl"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert rule_ids == [cls.code for cls in KINDS]
    assert all(rule["shortDescription"]["text"] for rule in driver["rules"])
    (result,) = run["results"]
    assert result["ruleId"] == "E300" and driver["rules"][result["ruleIndex"]]["id"] == "E300"
    assert result["level"] == "error"
    assert result["message"]["text"].startswith("kernel 5x5 is larger than its 4x4 input")
    (location,) = result["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == bad
    assert location["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 12, "endLine": 2, "endColumn": 15}
    assert [r["physicalLocation"]["region"]["startLine"] for r in result["relatedLocations"]] == [4, 6]


def test_github_annotations_escape_their_fields(tmp_path, capsys):
    bad = write(tmp_path, "a,b:c.cnn", "input 4x4x3\nconv 8 5x5\n")
    assert main(["check", "--error-format", "github", bad]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    escaped = bad.replace(":", "%3A").replace(",", "%2C")
    assert line == (
        f"::error file={escaped},line=2,col=8,endLine=2,endColumn=11,title=cnndsl E300::"
        "kernel 5x5 is larger than its 4x4 input%0Ahint: input is 4x4 here; use `same` or a kernel of at most 4"
    )


def test_a_bad_error_format_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["check", "--error-format", "xml", LENET])
    assert caught.value.code == 2


def test_fixes_are_data_in_json_and_sarif(tmp_path, capsys):
    bad = write(tmp_path, "typo.cnn", "input 28x28x1\nconv 8 3\nmaxpol 2\n")
    assert main(["check", "--error-format", "json", bad]) == 1
    (error,) = json.loads(capsys.readouterr().out)
    assert [(f["line"], f["column"], f["end_line"], f["end_column"], f["text"]) for f in error["fixes"]] == [
        (3, 1, 3, 7, "maxpool")
    ]
    assert main(["check", "--error-format", "sarif", bad]) == 1
    (result,) = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    (fix,) = result["fixes"]
    assert fix["description"]["text"] == error["fixes"][0]["title"]
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"]["uri"] == bad
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 3, "startColumn": 1, "endLine": 3, "endColumn": 7},
            "insertedContent": {"text": "maxpool"},
        }
    ]
