"""Definitions built to break the loader are refused with their problem, never a traceback or
a hang: deep nesting, alias bombs, sheer size, long reversed chains of ``needs``, step ids
that collide with signal handler runs, and durations no timer can hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledgerflow import errors
from ledgerflow.definition import WorkflowBuilder, from_mapping, limits, load_file, load_text
from ledgerflow.definition.model import RetryPolicy
from ledgerflow.definition.steps import find_cycles
from ledgerflow.engine.model.graph import graph_of

DEEP = limits.MAX_DEPTH * 100  # far deeper than Python's recursion limit
TOO_DEEP = "the definition nests lists and mappings more than 100 levels deep"


def problems(exc: pytest.ExceptionInfo[errors.DefinitionError]) -> str:
    return "\n".join(exc.value.problems)


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def with_input(value: Any) -> dict[str, Any]:
    return {"name": "bomb", "steps": [{"id": "a", "agent": "x.y", "input": {"v": value}}]}


def test_a_deeply_nested_json_definition_is_refused() -> None:
    text = '{"name": "deep", "steps": [{"id": "a", "agent": "x.y", "input": {"v": ' \
        + "[" * DEEP + "]" * DEEP + "}}]}"
    with pytest.raises(errors.DefinitionError) as info:
        load_text(text, "deep.json", "json")
    assert TOO_DEEP in problems(info)


def test_a_deeply_nested_yaml_definition_is_refused_at_its_line() -> None:
    text = "name: deep\nsteps:\n- id: a\n  agent: x.y\n  input:\n    v: " + "[" * DEEP \
        + "]" * DEEP + "\n"
    with pytest.raises(errors.DefinitionError) as info:
        load_text(text, "deep.yaml")
    assert problems(info).startswith("line 6, column ")
    assert TOO_DEEP in problems(info)


def test_nesting_up_to_the_limit_is_accepted_in_yaml_json_and_python() -> None:
    spec = with_input(nested(limits.MAX_DEPTH - 4))  # the steps, step and input take 4
    assert load_text(json.dumps(spec), "ok.json", "json").name == "bomb"
    assert load_text(json.dumps(spec), "ok.yaml").name == "bomb"
    assert from_mapping(spec).name == "bomb"
    with pytest.raises(errors.DefinitionError):
        from_mapping(with_input(nested(limits.MAX_DEPTH - 3)))


def test_a_billion_laughs_is_refused_quickly() -> None:
    lines = ["name: lol", "steps:", "- id: a", "  agent: x.y", "  input:",
             "    l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"    l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 10)]
    with pytest.raises(errors.DefinitionError) as info:
        load_text("\n".join(lines), "lol.yaml")
    assert "the definition holds more than 200,000 values (with YAML aliases expanded)" \
        in problems(info)


def test_a_few_aliases_still_work() -> None:
    text = ("name: shared\nsteps:\n- id: a\n  agent: x.y\n  retry: &r {max_attempts: 3}\n"
            "- id: b\n  agent: x.y\n  retry: *r\n")
    definition = load_text(text)
    assert [s.retry.max_attempts for s in definition.steps] == [3, 3]


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    text = "name: rec\nsteps:\n- id: a\n  agent: x.y\n  input: &i {v: [*i]}\n"
    with pytest.raises(errors.DefinitionError) as info:
        load_text(text, "rec.yaml")
    assert "holds an alias inside the node it names" in problems(info)


def test_python_values_too_deep_or_containing_themselves_are_refused() -> None:
    with pytest.raises(errors.DefinitionError) as info:
        WorkflowBuilder("b").step("a", agent="x.y", input={"v": nested(DEEP)}).build()
    assert TOO_DEEP in problems(info)
    loop: dict[str, Any] = {}
    loop["again"] = loop
    with pytest.raises(errors.DefinitionError) as info:
        from_mapping(with_input(loop))
    assert TOO_DEEP in problems(info)


def test_a_definition_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("w") as file:
        file.write("name: big\nsteps:\n- id: a\n  agent: x.y\n  description: ")
        file.write("x" * limits.MAX_DEFINITION_BYTES)
    with pytest.raises(errors.DefinitionError) as info:
        load_file(big)
    assert "the definition is 4.0 MiB long, more than the 4.0 MiB ledgerflow accepts" \
        in problems(info)


def reversed_chain(count: int) -> dict[str, Any]:
    """Step i needs step i+1: the walk from the first step goes ``count`` deep."""
    return {"name": "chain", "steps": [
        {"id": f"s{i}", "agent": "x.y", **({"needs": [f"s{i + 1}"]} if i < count - 1 else {})}
        for i in range(count)]}


def test_a_long_reversed_chain_of_needs_validates_and_orders() -> None:
    definition = from_mapping(reversed_chain(5000))
    graph = graph_of(definition)
    assert graph.dependents["s4999"] == ("s4998",)
    assert graph.ends == ("s0",)


def test_a_cycle_at_the_end_of_a_long_chain_is_still_found() -> None:
    spec = reversed_chain(5000)
    spec["steps"][-1]["needs"] = ["s4997"]
    with pytest.raises(errors.DefinitionError) as info:
        from_mapping(spec)
    assert problems(info) == "steps: cycle s4997 -> s4998 -> s4999 -> s4997"
    assert find_cycles(from_mapping(reversed_chain(3)).steps) == []


def test_a_step_id_beginning_with_on_dot_is_refused() -> None:
    spec = {"name": "onstep", "steps": [{"id": "on.go", "agent": "x.y"}]}
    with pytest.raises(errors.DefinitionError) as info:
        from_mapping(spec)
    assert problems(info) == (
        "steps[0].id: step id 'on.go' begins with 'on.', which names signal handler runs; "
        "rename the step (step ids may not begin with 'on.')")
    assert from_mapping({"name": "ok", "steps": [{"id": "one.go", "agent": "x.y"}]})
    assert from_mapping(spec, stored=True).steps[0].id == "on.go"  # stored ones still load


@pytest.mark.parametrize(("step", "path"), [
    ({"id": "a", "agent": "x.y", "timeout": "1000000000000d"}, "steps[0].timeout"),
    ({"id": "a", "agent": "x.y", "heartbeat_timeout": 1e300}, "steps[0].heartbeat_timeout"),
    ({"id": "a", "type": "sleep", "for": "36501d"}, "steps[0].for"),
    ({"id": "a", "agent": "x.y", "retry": {"max_attempts": 3, "max": 4e9}},
     "steps[0].retry.max"),
])
def test_durations_longer_than_a_timer_holds_are_refused_naming_the_field(
        step: dict[str, Any], path: str) -> None:
    with pytest.raises(errors.DefinitionError) as info:
        from_mapping({"name": "late", "steps": [step]})
    assert problems(info).startswith(f"{path}: duration ")
    assert "is longer than 36500d (100 years), the longest ledgerflow schedules" \
        in problems(info)


def test_ttl_over_the_limit_is_refused_and_the_limit_itself_accepted() -> None:
    with pytest.raises(errors.DefinitionError) as info:
        from_mapping({"name": "late", "ttl": "36500d1s", "steps": [{"id": "a", "agent": "x"}]})
    assert problems(info).startswith("ttl: duration '36500d1s' is longer than 36500d")
    assert from_mapping({"name": "ok", "ttl": "36500d", "steps": [{"id": "a", "agent": "x"}]})


def test_a_huge_integer_duration_is_refused_too() -> None:
    with pytest.raises(errors.DurationError, match="is longer than 36500d"):
        limits.check_duration(10**400, "ttl")


def test_retry_delays_never_overflow_however_many_attempts() -> None:
    policy = RetryPolicy(max_attempts=100_000, initial=3.0, max=600.0)
    assert policy.delay_before(5000) == 600.0
    assert policy.delay_before(100_000) == 600.0


def test_text_with_a_lone_surrogate_is_refused_at_its_path() -> None:
    text = '{"name": "s", "steps": [{"id": "a", "agent": "x.y", "input": {"v": "\\ud800"}}]}'
    with pytest.raises(errors.DefinitionError) as info:
        load_text(text, "s.json", "json")
    assert problems(info) == ("steps[0].input.v: '\\ud800' holds a lone surrogate "
                              "(\\ud800-\\udfff), which is not Unicode text; fix it")
    with pytest.raises(errors.InputValidationError, match="input holds a lone surrogate"):
        limits.check_value({"v": "\ud800"}, "input")
