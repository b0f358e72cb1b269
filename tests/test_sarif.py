"""`check --format sarif`: a SARIF 2.1.0 log that GitHub code scanning accepts.

The official schema (OASIS, `sarif-schema-2.1.0.json`) is not available offline here, so
the test validates against the requirements of SARIF 2.1.0 for every object the output
holds, restated below as a JSON schema (draft 7) from the standard's text: required
properties, types, enumerations, the 1-based line and column, relative URI references.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from codemods.cli import main

_MESSAGE = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 1}}}
_LOCATION = {
    "type": "object",
    "required": ["physicalLocation"],
    "properties": {
        "physicalLocation": {
            "type": "object",
            "required": ["artifactLocation"],
            "properties": {
                "artifactLocation": {
                    "type": "object",
                    "required": ["uri"],
                    "properties": {"uri": {"type": "string", "format": "uri-reference", "pattern": "^[^/\\\\]"}},
                },
                "region": {
                    "type": "object",
                    "required": ["startLine"],
                    "properties": {
                        "startLine": {"type": "integer", "minimum": 1},
                        "startColumn": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
    },
}
_LEVEL = {"enum": ["none", "note", "warning", "error"]}
SARIF_2_1_0 = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string", "minLength": 1},
                                    "version": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "uniqueItems": True,
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": _MESSAGE,
                                                "fullDescription": _MESSAGE,
                                                "defaultConfiguration": {
                                                    "type": "object", "properties": {"level": _LEVEL},
                                                },
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
                    "invocations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["executionSuccessful"],
                            "properties": {
                                "executionSuccessful": {"type": "boolean"},
                                "toolExecutionNotifications": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["message"],
                                        "properties": {"message": _MESSAGE, "level": _LEVEL,
                                                       "locations": {"type": "array", "items": _LOCATION}},
                                    },
                                },
                            },
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": -1},
                                "level": _LEVEL,
                                "message": _MESSAGE,
                                "locations": {"type": "array", "minItems": 1, "items": _LOCATION},
                            },
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture
def sarif(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    (tmp_path / "pyproject.toml").write_text("[tool.loopsafe]\n")
    (tmp_path / "ünïcode dir").mkdir()
    (tmp_path / "ünïcode dir" / "app.py").write_text(
        "import os\nimport time\n\n\nasync def f(p):\n    s = 'é'; time.sleep(1)\n    os.remove(p)\n"
    )
    (tmp_path / "broken.py").write_text("async def f(:\n    pass\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["check", "--format", "sarif", "--no-cache"])
    assert result.exit_code == 2  # broken.py
    return json.loads(result.stdout)


def test_the_log_meets_the_sarif_2_1_0_requirements(sarif: dict) -> None:
    jsonschema.validate(sarif, SARIF_2_1_0, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def test_results_point_at_the_calls_and_their_rules(sarif: dict) -> None:
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]) for r in results] == [
        ("LS251", {"startLine": 6, "startColumn": 14}),  # code points: "é" is one column (UTF-8: two bytes)
        ("LS260", {"startLine": 7, "startColumn": 5}),
    ]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "%C3%BCn%C3%AFcode%20dir/app.py"
    assert results[0]["message"]["text"].startswith("time.sleep() blocks the event loop; fix:")
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["message"]["text"].startswith("cannot parse")


def test_a_mistake_in_the_log_would_be_caught(sarif: dict) -> None:
    # The check can fail: a 0-based column, or no message, is refused.
    sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sarif, SARIF_2_1_0)
