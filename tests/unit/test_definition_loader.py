from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledgerflow import errors
from ledgerflow.definition import (
    StepType,
    WorkflowBuilder,
    from_mapping,
    load_file,
    load_text,
    parse_text,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

DIAMOND_JSON = """
{
  "name": "diamond",
  "description": "Fan out from a to b and c, join at d",
  "input_schema": {
    "type": "object",
    "properties": {"mode": {"type": "string", "enum": ["full", "quick"]}},
    "required": ["mode"]
  },
  "steps": [
    {"id": "a", "agent": "demo.echo", "input": {"message": "start ${input.mode}"}},
    {"id": "b", "agent": "demo.flaky", "needs": ["a"], "input": {"value": "${steps.a.output}"},
     "retry": {"max_attempts": 3, "backoff": "fixed", "initial": "10ms"}, "timeout": "5s"},
    {"id": "c", "agent": "demo.echo", "needs": ["a"], "when": "input.mode == \\"full\\"",
     "input": {"message": "full check"}, "output": "results.c"},
    {"id": "d", "agent": "demo.echo", "needs": ["b", "c"], "input": {"b": "${steps.b.output}"},
     "output": {"path": "results.d", "mode": "set"}}
  ]
}
"""


def diamond_builder() -> WorkflowBuilder:
    return (
        WorkflowBuilder(
            "diamond",
            description="Fan out from a to b and c, join at d",
            input_schema={
                "type": "object",
                "properties": {"mode": {"type": "string", "enum": ["full", "quick"]}},
                "required": ["mode"],
            },
        )
        .step("a", agent="demo.echo", input={"message": "start ${input.mode}"})
        .step(
            "b",
            agent="demo.flaky",
            needs=["a"],
            input={"value": "${steps.a.output}"},
            retry={"max_attempts": 3, "backoff": "fixed", "initial": "10ms"},
            timeout="5s",
        )
        .step(
            "c",
            agent="demo.echo",
            needs=("a",),
            when='input.mode == "full"',
            input={"message": "full check"},
            output="results.c",
        )
        .step(
            "d",
            agent="demo.echo",
            needs=["b", "c"],
            input={"b": "${steps.b.output}"},
            output={"path": "results.d", "mode": "set"},
        )
    )


def fail(text: str, fmt: str = "yaml") -> list[str]:
    with pytest.raises(errors.DefinitionError) as info:
        load_text(text, "t", fmt)  # type: ignore[arg-type]
    assert info.value.source == "t"
    return list(info.value.problems)


# --- the examples ------------------------------------------------------------------------


def test_diamond_example() -> None:
    definition = load_file(EXAMPLES / "diamond.yaml")
    _, b, c, d = definition.steps
    assert definition.step_ids == ("a", "b", "c", "d")
    assert (b.needs, c.needs, d.needs) == (("a",), ("a",), ("b", "c"))
    assert b.agent == "demo.flaky" and b.retry.max_attempts == 3
    assert c.when is not None
    assert c.when.evaluate({"input": {"mode": "quick"}}) is False
    assert c.when.evaluate({"input": {"mode": "full"}}) is True


def test_onboarding_example() -> None:
    definition = load_file(EXAMPLES / "onboarding.yaml")
    assert definition.ttl == 86400.0
    assert definition.step("approval").type is StepType.WAIT
    assert definition.step("approval").options == {"signal": "approve"}
    assert [h.agent for h in definition.on["instruction"]] == ["onboarding.route_instruction"]


def test_yaml_json_and_builder_give_the_same_definition() -> None:
    from_yaml = load_file(EXAMPLES / "diamond.yaml")
    from_json = load_text(DIAMOND_JSON, "diamond.json", "json")
    from_builder = diamond_builder().build()
    assert from_yaml.spec == from_json.spec == from_builder.spec
    assert from_yaml.sha256 == from_json.sha256 == from_builder.sha256


def test_changed_content_changes_the_sha(tmp_path: Path) -> None:
    original = (EXAMPLES / "diamond.yaml").read_text()
    changed = tmp_path / "diamond.yaml"
    changed.write_text(original.replace("max_attempts: 3", "max_attempts: 4"))
    assert load_file(changed).sha256 != load_file(EXAMPLES / "diamond.yaml").sha256
    comment_only = tmp_path / "commented.yaml"
    comment_only.write_text("# a comment\n" + original)
    assert load_file(comment_only).sha256 == load_file(EXAMPLES / "diamond.yaml").sha256


# --- files -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json", ".txt", ""])
def test_any_extension_loads(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"flow{suffix}"
    path.write_text(DIAMOND_JSON)  # JSON is YAML too
    assert load_file(path).name == "diamond"


def test_a_json_file_is_parsed_as_json(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    path.write_text("name: x\nsteps: []\n")
    with pytest.raises(errors.DefinitionError) as info:
        load_file(path)
    assert info.value.source == str(path)
    assert info.value.problems[0].startswith("line 1, column 1: JSON syntax error: Expecting value")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(errors.DefinitionError) as info:
        load_file(path)
    assert info.value.source == str(path)
    assert info.value.problems == ("cannot read file: No such file or directory",)


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(errors.DefinitionError, match="cannot read file"):
        load_file(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: café\n".encode("latin-1"))
    with pytest.raises(errors.DefinitionError) as info:
        load_file(path)
    assert info.value.problems == ("not UTF-8 text (byte 9); save the file as UTF-8",)


def test_problems_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nsteps: [{id: a}]\n")
    with pytest.raises(errors.DefinitionError) as info:
        load_file(path)
    assert str(info.value).startswith(f"{path}: 1 problem:\n  steps[0].agent: required")


# --- syntax ------------------------------------------------------------------------------


def test_yaml_syntax_error_has_line_and_column() -> None:
    assert fail("name: x\nsteps:\n  - id: a\n   agent: b\n") == [
        "line 4, column 4: YAML syntax error: expected <block end>, but found "
        "'<block mapping start>'",
    ]


def test_json_syntax_error_has_line_and_column() -> None:
    assert fail('{"name": "x",\n "steps": [}', "json") == [
        "line 2, column 12: JSON syntax error: Expecting value",
    ]


@pytest.mark.parametrize(
    ("text", "fmt", "got"),
    [
        ("- a\n- b\n", "yaml", "a list"),
        ("just text", "yaml", "a str"),
        ("", "yaml", "an empty document"),
        ("# only a comment\n", "yaml", "an empty document"),
        ("[1, 2]", "json", "a list"),
        ("null", "json", "an empty document"),
    ],
)
def test_top_level_must_be_a_mapping(text: str, fmt: str, got: str) -> None:
    expected = f"the top level must be a mapping with 'name' and 'steps', got {got}"
    assert fail(text, fmt) == [expected]


def test_duplicate_keys_are_errors() -> None:
    assert fail("name: a\nsteps: []\nname: b\n") == [
        "line 3, column 1: YAML syntax error: duplicate key 'name' (first on line 1)",
    ]
    assert fail("{name: a, name: b}") == [
        "line 1, column 11: YAML syntax error: duplicate key 'name' (first on line 1)",
    ]
    assert fail('{"name": "a", "steps": [], "name": "b"}', "json") == [
        "JSON: duplicate key 'name' in an object; keep one",
    ]


def test_yaml_merge_keys_may_be_overridden() -> None:
    text = (
        "name: m\n"
        "x-base: &base {agent: demo.echo, timeout: 5s}\n"
        "steps:\n"
        "  - {<<: *base, id: a, timeout: 9s}\n"
    )
    spec = parse_text(text, "t")
    assert spec["steps"][0] == {"agent": "demo.echo", "timeout": "9s", "id": "a"}


# --- YAML reads plain scalars as JSON would ----------------------------------------------


def test_on_key_is_a_string() -> None:
    definition = load_text(
        "name: s\nsteps: [{id: a, agent: x.y}]\non:\n  note: {agent: session.note}\n"
    )
    assert definition.spec["on"] == {"note": {"agent": "session.note"}}
    assert definition.on["note"][0].agent == "session.note"


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("true", True),
        ("false", False),
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("null", None),
        ("~", None),
        ("12", 12),
        ("-3", -3),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("010", "010"),
        ("0x1f", "0x1f"),
        ("1_000", "1_000"),
        ("1:30", "1:30"),
        ("30s", "30s"),
    ],
)
def test_yaml_scalars_resolve_like_json(scalar: str, value: object) -> None:
    spec = parse_text(f"name: x\nv: {scalar}\n", "t")
    assert spec["v"] == value
    assert type(spec["v"]) is type(value)


def test_yaml_scalars_that_json_lacks_are_problems_with_paths() -> None:
    text = (
        "name: x\nttl: 1:30\n"
        "steps:\n  - id: a\n    agent: x.y\n    at_most_once: yes\n"
        "    input: {day: 2026-01-31, ratio: .nan}\n"
    )
    assert fail(text) == [
        "steps[0].input.day: 2026-01-31 is a date/time, not a JSON value; quote it to keep it text",
        "steps[0].input.ratio: nan is not a JSON number",
        "ttl: invalid duration '1:30'; use a number of seconds or a string like '500ms', '30s', "
        "'1m', '1h30m', '7d'",
        "steps[0].at_most_once: must be true or false, got the string 'yes'",
    ]


def test_json_nan_is_a_problem() -> None:
    text = '{"name": "x", "steps": [{"id": "a", "agent": "x.y", "input": {"r": NaN}}]}'
    assert fail(text, "json") == ["steps[0].input.r: nan is not a JSON number"]


# --- the builder -------------------------------------------------------------------------


def test_builder_leaves_unset_fields_out() -> None:
    builder = WorkflowBuilder("w").step("a", agent="demo.echo")
    assert builder.to_spec() == {"name": "w", "steps": [{"id": "a", "agent": "demo.echo"}]}


def test_builder_writes_every_field() -> None:
    spec = (
        WorkflowBuilder("w", description="d", ttl="1h", input_schema={"type": "object"})
        .step("a", agent="demo.echo", retry=2, timeout=5, at_most_once=True, description="x")
        .step("wait", type="wait", signal="go", needs=["a"])
        .step("nap", type="sleep", for_="1m", needs=["wait"])
        .step("alarm", type="sleep", until="2026-01-31T09:00:00Z")
        .step("sub", type="workflow", workflow="child")
        .on("note", agent="session.note", output="notes")
        .to_spec()
    )
    assert spec["ttl"] == "1h" and spec["description"] == "d"
    assert spec["steps"][2] == {"id": "nap", "type": "sleep", "needs": ["wait"], "for": "1m"}
    assert spec["on"] == {"note": {"agent": "session.note", "output": "notes"}}
    # the builder writes workflow steps; validation refuses them until sub-workflows exist
    assert spec["steps"][4] == {"id": "sub", "type": "workflow", "workflow": "child"}
    definition = from_mapping({**spec, "steps": spec["steps"][:4]})
    assert definition.step("nap").options == {"for": 60.0}
    assert definition.step("a").at_most_once


def test_builder_build_reports_problems() -> None:
    builder = WorkflowBuilder("w").step("a", agent="demo.echo", needs=["kcy"])
    with pytest.raises(errors.DefinitionError) as info:
        builder.build()
    assert info.value.source == "<builder 'w'>"
    assert info.value.problems == ("steps[0].needs[0]: unknown step 'kcy' (known steps: a)",)


def test_builder_matches_the_brief_example() -> None:
    definition = (
        WorkflowBuilder("onboarding", description="Client onboarding")
        .step("kyc", agent="kyc.verify", input={"entity": "${input.name}"},
              retry={"max_attempts": 3})
        .step("ubo", agent="ubo.discover", needs=["kyc"], when='input.entity_type == "TRUST"')
        .build()
    )
    yaml_text = """
name: onboarding
description: Client onboarding
steps:
  - id: kyc
    agent: kyc.verify
    input: {entity: "${input.name}"}
    retry: {max_attempts: 3}
  - id: ubo
    agent: ubo.discover
    needs: [kyc]
    when: input.entity_type == "TRUST"
"""
    assert load_text(yaml_text).sha256 == definition.sha256
    assert json.loads(json.dumps(definition.spec)) == definition.spec
