from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest

from ledgerflow import errors
from ledgerflow.definition import from_mapping
from ledgerflow.definition.model import (
    BackoffKind,
    OutputMode,
    OutputTarget,
    RetryPolicy,
    StepType,
)


def spec(*steps: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A valid two-step spec, or the given steps, with top-level fields overridden."""
    default = [
        {"id": "kyc", "agent": "kyc.verify"},
        {"id": "ubo", "agent": "ubo.discover", "needs": ["kyc"]},
    ]
    return {"name": "onboarding", "steps": list(steps) or default, **top}


def problems(document: Any) -> list[str]:
    with pytest.raises(errors.DefinitionError) as info:
        from_mapping(document, "wf.yaml")
    assert info.value.source == "wf.yaml"
    return list(info.value.problems)


def one_problem(document: Any) -> str:
    found = problems(document)
    assert len(found) == 1, found
    return found[0]


def task(step_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "agent": "demo.echo", **fields}


# --- the valid case ----------------------------------------------------------------------


def test_valid_spec_builds_the_definition() -> None:
    document = spec(
        task("a", input={"x": "${input.name}"}, retry={"max_attempts": 3, "initial": "2s"},
             timeout="30s", output={"path": "case.a", "mode": "merge"}, at_most_once=True,
             description="first"),
        task("b", needs=["a"], when="steps.a.output.ok", retry=2, output="case.b"),
        ttl="24h", description="demo", input_schema={"type": "object"},
        on={"note": {"agent": "session.note", "output": "notes"}},
    )
    definition = from_mapping(document)
    a, b = definition.steps
    assert definition.name == "onboarding" and definition.description == "demo"
    assert definition.ttl == 86400.0
    assert definition.input_schema == {"type": "object"}
    assert a.type is StepType.TASK and a.agent == "demo.echo" and a.description == "first"
    assert a.retry == RetryPolicy(max_attempts=3, initial=2.0)
    assert a.timeout == 30.0 and a.at_most_once
    assert a.output == OutputTarget(path=("case", "a"), mode=OutputMode.MERGE)
    assert a.input is not None and a.input.evaluate({"input": {"name": "N"}}) == {"x": "N"}
    assert b.needs == ("a",) and b.retry.max_attempts == 2
    assert b.when is not None and b.when.source == "steps.a.output.ok"
    assert b.output == OutputTarget(path=("case", "b"))
    assert definition.on["note"][0].agent == "session.note"
    assert definition.on["note"][0].output == OutputTarget(path=("notes",))
    assert definition.step_ids == ("a", "b")


def test_spec_keeps_what_the_user_wrote() -> None:
    document = spec(task("a", needs=()))
    definition = from_mapping(document)
    assert definition.spec == {"name": "onboarding", "steps": [{"id": "a", "agent": "demo.echo",
                                                                "needs": []}]}
    assert "type" not in definition.spec["steps"][0]  # defaults are not filled in


def test_spec_is_a_copy() -> None:
    document = spec()
    definition = from_mapping(document)
    document["steps"][0]["agent"] = "changed.agent"
    assert definition.spec["steps"][0]["agent"] == "kyc.verify"


def test_sha_changes_with_content_and_not_with_key_order() -> None:
    first = from_mapping(spec())
    reordered = from_mapping({"steps": spec()["steps"], "name": "onboarding"})
    changed = from_mapping(spec(task("kyc")))
    assert first.sha256 == reordered.sha256
    assert first.sha256 != changed.sha256
    assert len(first.sha256) == 64


def test_step_types_keep_their_options() -> None:
    definition = from_mapping(spec(
        task("a"),
        {"id": "wait", "type": "wait", "signal": "approve", "timeout": "72h"},
        {"id": "nap", "type": "sleep", "for": "10m"},
        {"id": "alarm", "type": "sleep", "until": "2026-01-31T09:00:00Z"},
        {"id": "later", "type": "sleep", "until": "${steps.a.output.at}", "needs": ["a"]},
    ))
    steps = {s.id: s for s in definition.steps}
    assert steps["wait"].options == {"signal": "approve"} and steps["wait"].agent is None
    assert steps["nap"].options == {"for": 600.0}
    alarm = steps["alarm"].options["until"]
    assert alarm.evaluate({}) == "2026-01-31T09:00:00Z"
    later = steps["later"].options["until"]
    assert later.evaluate({"steps": {"a": {"output": {"at": "x"}}}}) == "x"
    stored = from_mapping(spec({"id": "sub", "type": "workflow", "workflow": "kyc-flow"}),
                          stored=True)  # workflow steps: only in versions stored before
    assert stored.step("sub").options == {"workflow": "kyc-flow"}


# --- problems, each with its exact path --------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"steps": spec()["steps"]}, "name: required: name the workflow, such as 'onboarding'"),
        (spec(name=5), "name: must be a string, got the number 5"),
        (spec(name="on boarding"), "name: 'on boarding' is not a valid workflow name: use 1-128 "
                                   "letters, digits, '_', '.' or '-', starting with a letter or "
                                   "digit"),
        (spec(name="x" * 129), f"name: {'x' * 129!r} is not a valid workflow name"),
        (spec(description=["x"]), "description: must be a string, got a list"),
        (spec(ttl="1 day"), "ttl: invalid duration '1 day'"),
        (spec(ttl=0), "ttl: must be longer than zero, got 0"),
        (spec(input_schema=[]), "input_schema: must be a JSON Schema object, got a list"),
        (spec(input_schema={"type": "objekt"}),
         "input_schema.type: invalid JSON Schema: 'objekt' is not valid under any of the given "
         "schemas"),
        (spec(input_schema={"properties": {"age": {"minimum": "ten"}}}),
         "input_schema.properties.age.minimum: invalid JSON Schema: 'ten' is not of type "
         "'number'"),
        (spec(input_schema={"$schema": "https://example.com/nope"}),
         "input_schema[\"$schema\"]: unknown meta-schema 'https://example.com/nope'"),
        ({"name": "x"}, "steps: required: a list of steps, each with at least an 'id'"),
        (spec(steps=[]), "steps: must be a non-empty list of steps, got a list"),
        (spec(steps={"a": {}}), "steps: must be a non-empty list of steps, got a mapping"),
        (spec(stpes=[]), "unknown top-level field 'stpes' (did you mean 'steps'?)"),
        (spec(owner="me"), "unknown top-level field 'owner'; allowed: name, description, ttl, "
                           "input_schema, steps, on"),
        (spec(on=["go"]), "on: must map signal names to handlers such as "
                          "{agent: session.route}, got a list"),
        (spec(on={"go": "x.y"}), "on.go: must be a mapping {agent: CAPABILITY, output?: PATH, "
                                 "when?: CEL} or a list of them, "
                                 "got the string 'x.y'"),
        (spec(on={"go": {}}), "on.go.agent: required: the capability that handles this signal"),
        (spec(on={"go": {"agent": "x.y", "ouput": "a"}}),
         "on.go: unknown field 'ouput' (did you mean 'output'?)"),
        (spec(on={"bad sig": {"agent": "x.y"}}),
         "on[\"bad sig\"]: 'bad sig' is not a valid signal name"),
        (["name"], "a definition must be a mapping with 'name' and 'steps', got a list"),
    ],
)
def test_top_level_problems(document: Any, expected: str) -> None:
    assert one_problem(document).startswith(expected)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([task("a"), "b"], "steps[1]: must be a mapping with at least 'id', got the string 'b'"),
        ([task("a"), {"agent": "x.y"}], "steps[1].id: required: a unique step id such as 'kyc'"),
        ([task("a"), task("b c")], "steps[1].id: 'b c' is not a valid step id"),
        ([task("a"), task("b"), task("c"), task("a")],
         "steps[3].id: duplicate id 'a' (first at steps[0])"),
        ([{"id": "a", "type": "job"}], "steps[0].type: 'job' is not one of task, wait, sleep"),
        ([{"id": "a"}], "steps[0].agent: required for task steps: the capability to run, "
                        "such as 'kyc.verify'"),
        ([{"id": "a", "agent": "KYC verify"}], "steps[0].agent: 'KYC verify' is not a valid "
                                               "capability"),
        ([task("kyc"), task("b", needs=["kcy"])], "steps[1].needs[0]: unknown step 'kcy' "
                                                  "(did you mean 'kyc'?)"),
        ([task("a"), task("b", needs=["zzz"])], "steps[1].needs[0]: unknown step 'zzz' "
                                                "(known steps: a, b)"),
        ([task("a", needs=["a"])], "steps[0].needs[0]: step 'a' cannot need itself"),
        ([task("a"), task("b", needs=["a", "a"])], "steps[1].needs[1]: 'a' is listed twice"),
        ([task("a"), task("b", needs="a")], "steps[1].needs: must be a list of step ids such as "
                                            "[kyc], got the string 'a'"),
        ([task("a"), task("b", needs=[1])], "steps[1].needs[0]: must be a step id, got the "
                                            "number 1"),
        ([task("a", neds=["b"])], "steps[0]: unknown field 'neds' (did you mean 'needs'?)"),
        ([task("a", colour="red")], "steps[0]: unknown field 'colour'; allowed: id, type, needs, "
                                    "when, description, agent, input, retry, timeout, "
                                    "heartbeat_timeout, output, at_most_once"),
        ([task("a", signal="go")], "steps[0]: field 'signal' is only valid for wait steps; "
                                   "this is a task step"),
        ([task("a", when="input.x ==")], "steps[0].when: invalid CEL expression 'input.x ==': "
                                         "unexpected end of expression at line 1, column 9"),
        ([task("a", when=True)], "steps[0].when: must be a CEL expression string (quote it), "
                                 "got true"),
        ([task("a", when="${input.ok}")], "steps[0].when: write the condition without '${...}'"),
        ([task("a", when="steps.b.output.ok")], "steps[0].when: refers to unknown step 'b' "
                                                "(known steps: a)"),
        ([task("a", input=["x"])], "steps[0].input: must be a mapping of input fields, got a "
                                   "list"),
        ([task("a", input={"x": {"y": ["${input.a +}"]}})],
         "steps[0].input.x.y[0]: invalid CEL expression 'input.a +': unexpected end of "
         "expression at line 1, column 9"),
        ([task("a", input={"x": "${input.a"})], "steps[0].input.x: unclosed '${'"),
        ([task("a", input={"x": "${steps.nope.output}"})],
         "steps[0].input: refers to unknown step 'nope'"),
        ([task("a", retry=0)], "steps[0].retry: must be a whole number of attempts >= 1, got the "
                               "number 0"),
        ([task("a", retry="3")], "steps[0].retry: must be a number of attempts such as 3, or a "
                                 "mapping {max_attempts, backoff, initial, max}, got the string "
                                 "'3'"),
        ([task("a", retry={"backoff": "fixed"})],
         "steps[0].retry.max_attempts: required: how many attempts in all, e.g. 3"),
        ([task("a", retry={"max_attempts": 1.5})],
         "steps[0].retry.max_attempts: must be a whole number of attempts >= 1, got the number "
         "1.5"),
        ([task("a", retry={"max_attempts": 2, "backoff": "linear"})],
         "steps[0].retry.backoff: 'linear' is not one of fixed, exponential"),
        ([task("a", retry={"max_attempts": 2, "initial": "soon"})],
         "steps[0].retry.initial: invalid duration 'soon'"),
        ([task("a", retry={"max_attempts": 2, "initial": "2m", "max": "1m"})],
         "steps[0].retry: initial (2m) is longer than max (1m); raise max"),
        ([task("a", retry={"max_attempts": 2, "jitter": True})],
         "steps[0].retry: unknown field 'jitter'; allowed: max_attempts, backoff, initial, max"),
        ([task("a", timeout="0s")], "steps[0].timeout: must be longer than zero, got '0s'"),
        ([task("a", timeout="30")], "steps[0].timeout: duration '30' has no unit; write '30s'"),
        ([task("a", output="case..a")], "steps[0].output: 'case..a' is not a state path"),
        ([task("a", output=5)], "steps[0].output: must be a dotted state path like 'case.kyc' or "
                                "{path: ..., mode: set|append|merge}, got the number 5"),
        ([task("a", output={"mode": "set"})], "steps[0].output.path: required: the dotted state "
                                              "path, e.g. 'case.kyc'"),
        ([task("a", output={"path": "x", "mode": "add"})],
         "steps[0].output.mode: 'add' is not one of set, append, merge"),
        ([task("a", at_most_once="yes")], "steps[0].at_most_once: must be true or false, got the "
                                          "string 'yes'"),
        ([task("a", description=1)], "steps[0].description: must be a string, got the number 1"),
        ([{"id": "w", "type": "wait"}], "steps[0].signal: required for wait steps: the signal "
                                        "name"),
        ([{"id": "w", "type": "wait", "signal": "go now"}],
         "steps[0].signal: 'go now' is not a valid signal name"),
        ([{"id": "w", "type": "wait", "signal": "go", "agent": "x.y"}],
         "steps[0]: field 'agent' is only valid for task steps; this is a wait step"),
        ([{"id": "s", "type": "sleep"}], "steps[0]: sleep steps need exactly one of 'for' (a "
                                         "duration such as '10m') or 'until' (an ISO-8601 "
                                         "timestamp or '${expression}')"),
        ([{"id": "s", "type": "sleep", "for": "1m", "until": "2026-01-01T00:00:00Z"}],
         "steps[0]: sleep steps need exactly one of 'for'"),
        ([{"id": "s", "type": "sleep", "for": "forever"}],
         "steps[0].for: invalid duration 'forever'"),
        ([{"id": "s", "type": "sleep", "until": "tomorrow"}],
         "steps[0].until: 'tomorrow' is not an ISO-8601 timestamp with a time zone"),
        ([{"id": "s", "type": "sleep", "until": "2026-01-31T09:00:00"}],
         "steps[0].until: '2026-01-31T09:00:00' is not an ISO-8601 timestamp with a time zone"),
        ([{"id": "s", "type": "sleep", "until": "${steps.x.output"}],
         "steps[0].until: unclosed '${'"),
        ([{"id": "f", "type": "workflow", "workflow": "child"}],
         "steps[0].type: 'workflow' steps are not supported yet (sub-workflows are planned); "
         "use a task step whose agent starts the child execution"),
    ],
)
def test_step_problems(steps: list[Any], expected: str) -> None:
    assert one_problem(spec(*steps)).startswith(expected)


def test_cycles_are_named() -> None:
    steps = [task("a", needs=["c"]), task("b", needs=["a"]), task("c", needs=["b"]), task("d")]
    assert one_problem(spec(*steps)) == "steps: cycle a -> c -> b -> a"


def test_each_cycle_is_reported_once() -> None:
    steps = [task("a", needs=["b"]), task("b", needs=["a"]), task("c", needs=["d"]),
             task("d", needs=["c"]), task("e", needs=["a", "c"])]
    assert problems(spec(*steps)) == ["steps: cycle a -> b -> a", "steps: cycle c -> d -> c"]


def test_every_problem_is_reported_at_once() -> None:
    document = {
        "nmae": "x",
        "ttl": "soon",
        "steps": [
            task("a", neds=["b"], when="a +"),
            task("a", needs=["kcy"]),
            {"id": "w", "type": "wait"},
        ],
    }
    assert problems(document) == [
        "unknown top-level field 'nmae' (did you mean 'name'?)",
        "name: required: name the workflow, such as 'onboarding'",
        "ttl: invalid duration 'soon'; use a number of seconds or a string like '500ms', "
        "'30s', '1m', '1h30m', '7d'",
        "steps[1].id: duplicate id 'a' (first at steps[0])",
        "steps[0]: unknown field 'neds' (did you mean 'needs'?)",
        "steps[0].when: invalid CEL expression 'a +': unexpected end of expression at line 1, "
        "column 3",
        "steps[1].needs[0]: unknown step 'kcy' (known steps: a, w)",
        "steps[2].signal: required for wait steps: the signal name",
    ]


def test_error_message_lists_the_problems() -> None:
    with pytest.raises(errors.DefinitionError) as info:
        from_mapping(spec(task("a", needs=["b"]), name=""), "flow.yaml")
    text = str(info.value)
    assert text.startswith("flow.yaml: 2 problems:\n  name: ")
    assert "\n  steps[0].needs[0]: unknown step 'b'" in text


def test_an_unknown_type_skips_type_rules() -> None:
    assert problems(spec({"id": "a", "type": "job", "signal": "x"})) == [
        "steps[0].type: 'job' is not one of task, wait, sleep",
    ]


# --- values JSON cannot hold -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime.date(2026, 1, 31), "2026-01-31 is a date/time, not a JSON value; quote it"),
        (float("nan"), "nan is not a JSON number"),
        (float("inf"), "inf is not a JSON number"),
        ({1, 2}, "a set value is not a JSON value (use a string, number, boolean, null, list or "
                  "mapping)"),
        (b"raw", "a bytes value is not a JSON value"),
        (2**60, "integer 1152921504606846976 is too large for JSON (limit ±2^53-1)"),
    ],
)
def test_non_json_values_are_refused_with_their_path(value: Any, expected: str) -> None:
    document = spec(task("a", input={"when": [1, value]}))
    assert one_problem(document).startswith(f"steps[0].input.when[1]: {expected}")


def test_a_non_json_value_is_reported_once() -> None:
    assert problems(spec(ttl=datetime.date(2026, 1, 1))) == [
        "ttl: 2026-01-01 is a date/time, not a JSON value; quote it to keep it text",
    ]


def test_non_string_keys_are_refused() -> None:
    document: dict[Any, Any] = spec()
    document[True] = {"go": {"agent": "x.y"}}
    assert problems(document) == [
        "key True is not a string; quote it (YAML reads unquoted on/off/yes/no/true/false as "
        "booleans)",
    ]
    inner = spec(task("a", input={1: "x"}))
    assert problems(inner) == ["steps[0].input: key 1 is not a string; quote it"]


def test_tuples_are_json_arrays() -> None:
    as_tuple = from_mapping(spec(task("a"), task("b", needs=("a",))))
    as_list = from_mapping(spec(task("a"), task("b", needs=["a"])))
    assert as_tuple.spec == as_list.spec and as_tuple.sha256 == as_list.sha256


def test_from_mapping_does_not_touch_its_argument() -> None:
    document = spec(task("a", input={"x": "${input.y}"}))
    before = copy.deepcopy(document)
    from_mapping(document)
    assert document == before


# --- retry policies ----------------------------------------------------------------------


def test_retry_shorthand_and_defaults() -> None:
    shorthand = from_mapping(spec(task("a", retry=3))).steps[0].retry
    assert shorthand == RetryPolicy(max_attempts=3)
    fixed = {"max_attempts": 4, "backoff": "fixed", "initial": "500ms", "max": "2s"}
    policy = from_mapping(spec(task("a", retry=fixed))).steps[0].retry
    assert policy == RetryPolicy(max_attempts=4, backoff=BackoffKind.FIXED, initial=0.5, max=2.0)
    assert from_mapping(spec(task("a"))).steps[0].retry == RetryPolicy(max_attempts=1)


@pytest.mark.parametrize(
    ("policy", "delays"),
    [
        (RetryPolicy(max_attempts=5, initial=1.0, max=60.0), [1.0, 2.0, 4.0, 8.0]),
        (RetryPolicy(max_attempts=5, initial=10.0, max=25.0), [10.0, 20.0, 25.0, 25.0]),
        (
            RetryPolicy(max_attempts=4, backoff=BackoffKind.FIXED, initial=3.0, max=60.0),
            [3.0, 3.0, 3.0],
        ),
        (RetryPolicy(backoff=BackoffKind.FIXED, initial=90.0, max=60.0), [60.0]),
    ],
)
def test_retry_delays(policy: RetryPolicy, delays: list[float]) -> None:
    attempts = range(2, 2 + len(delays))
    assert [policy.delay_before(attempt) for attempt in attempts] == delays
