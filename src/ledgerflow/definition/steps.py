"""Validation of the ``steps`` list: each step's fields, ids, ``needs`` and the graph."""

from __future__ import annotations

import datetime
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ledgerflow.definition import expressions
from ledgerflow.definition import fields as f
from ledgerflow.definition.model import HANDLER_RUN_PREFIX, RetryPolicy, Step, StepType

COMMON_FIELDS = ("id", "type", "needs", "when", "description")
TYPE_FIELDS: dict[StepType, tuple[str, ...]] = {
    StepType.TASK: ("agent", "input", "retry", "timeout", "heartbeat_timeout", "output",
                    "at_most_once"),
    StepType.WAIT: ("signal", "timeout", "output"),
    StepType.SLEEP: ("for", "until"),
    StepType.WORKFLOW: ("workflow", "input", "retry", "timeout", "output"),
}
# Types the spec names but the engine does not run yet: a new definition using one is
# refused at its ``type``, saying what to write instead (stored versions still load).
NOT_YET: dict[StepType, str] = {
    StepType.WORKFLOW: "(sub-workflows are planned); use a task step whose agent starts the "
                       "child execution",
}


def accepted_types(*, stored: bool = False) -> tuple[StepType, ...]:
    """The step types a definition may use; ``stored``: also those refused since then."""
    return tuple(t for t in TYPE_FIELDS if stored or t not in NOT_YET)


def check_steps(raw: Sequence[Any], problems: f.Problems, *,
                stored: bool = False) -> tuple[Step, ...]:
    """Check every step and the graph; return the steps (meaningful only without problems).
    ``stored``: accept the types ``NOT_YET`` refuses (``validate.from_mapping``)."""
    ids = _check_ids(raw, problems, stored)
    known = {i for i in ids if i}
    steps = tuple(
        _step(spec, f.item("steps", index), ids[index], known, problems, stored)
        for index, spec in enumerate(raw)
    )
    for cycle in find_cycles(steps):
        problems.add("steps", "cycle " + " -> ".join(cycle))
    return steps


def find_cycles(steps: Sequence[Step]) -> list[list[str]]:
    """Each cycle of ``needs`` once, as ``[a, b, ..., a]``, in step order."""
    needs: dict[str, tuple[str, ...]] = {}
    for step in steps:
        if step.id:
            needs.setdefault(step.id, step.needs)  # a duplicate id is reported elsewhere
    state: dict[str, str] = {}  # "open" while on the DFS stack, then "done"
    cycles: list[list[str]] = []
    for root in needs:
        if root in state:
            continue
        # depth-first without recursion (a chain of thousands of steps is fine): the path
        # from the root, and for each node on it the iterator over its needs
        stack = [root]
        pending = [iter(needs[root])]
        state[root] = "open"
        while pending:
            dep = next(pending[-1], None)
            if dep is None:
                state[stack.pop()] = "done"
                pending.pop()
            elif state.get(dep) == "open":
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state and dep in needs:
                state[dep] = "open"
                stack.append(dep)
                pending.append(iter(needs[dep]))
    return cycles


def _check_ids(raw: Sequence[Any], problems: f.Problems, stored: bool) -> list[str]:
    """Each step's id ("" when missing or invalid); reports duplicates and, unless
    ``stored``, ids with the prefix reserved for signal handler runs."""
    ids: list[str] = []
    first: dict[str, int] = {}
    for index, spec in enumerate(raw):
        path = f.item("steps", index)
        step_id = _step_id(spec, path, problems)
        if step_id.startswith(HANDLER_RUN_PREFIX) and not stored:
            problems.add(f.child(path, "id"), f"step id {step_id!r} begins with "
                         f"{HANDLER_RUN_PREFIX!r}, which names signal handler runs; rename "
                         "the step (step ids may not begin with 'on.')")
        if step_id in first:
            where = f.item("steps", first[step_id])
            problems.add(f.child(path, "id"), f"duplicate id {step_id!r} (first at {where})")
        elif step_id:
            first[step_id] = index
        ids.append(step_id)
    return ids


def _step_id(spec: Any, path: str, problems: f.Problems) -> str:
    if not isinstance(spec, Mapping):
        problems.add(path, f"must be a mapping with at least 'id', got {f.describe(spec)}")
        return ""
    if "id" not in spec:
        problems.add(f.child(path, "id"), "required: a unique step id such as 'kyc'")
        return ""
    step_id = f.name(spec["id"], f.child(path, "id"), problems, "step id")
    return step_id if f.NAME_RE.fullmatch(step_id) else ""


def _step(spec: Any, path: str, step_id: str, known: set[str], problems: f.Problems,
          stored: bool) -> Step:
    if not isinstance(spec, Mapping):
        return Step(id=step_id)
    kind = _type(spec.get("type", "task"), f.child(path, "type"), problems, stored)
    _check_step_fields(spec, path, kind, problems)
    at = f.Present(spec, path, problems)
    return Step(
        id=step_id,
        type=kind or StepType.TASK,
        agent=_agent(spec, path, kind, problems),
        needs=at.get("needs", (), lambda v, p, pr: _needs(v, p, step_id, known, pr)),
        when=at.get("when", None, lambda v, p, pr: condition(v, p, known, pr)),
        input=at.get("input", None, lambda v, p, pr: _input(v, p, known, pr)),
        retry=at.get("retry", RetryPolicy(), f.retry_policy),
        timeout=at.get("timeout", None, lambda v, p, pr: f.duration(v, p, pr, positive=True)),
        heartbeat_timeout=at.get("heartbeat_timeout", None,
                                 lambda v, p, pr: f.duration(v, p, pr, positive=True)),
        output=at.get("output", None, f.output_target),
        at_most_once=at.get("at_most_once", False, f.boolean),
        description=at.get("description", "", f.string),
        options=_options(spec, path, kind, known, problems),
    )


def _type(value: Any, path: str, problems: f.Problems, stored: bool) -> StepType | None:
    """The step's type; None (and a problem) when it is unknown or refused: the type's own
    rules are skipped then, and only the fields no type knows are reported."""
    if isinstance(value, str) and value in NOT_YET and not stored:
        problems.add(path, f"{value!r} steps are not supported yet {NOT_YET[StepType(value)]}")
        return None
    chosen = f.choice(value, path, accepted_types(stored=stored), problems)
    return StepType(chosen) if chosen else None


def _check_step_fields(
    spec: Mapping[str, Any], path: str, kind: StepType | None, problems: f.Problems
) -> None:
    if kind is None:
        every = COMMON_FIELDS + tuple(k for names in TYPE_FIELDS.values() for k in names)
        f.check_unknown(spec, path, tuple(dict.fromkeys(every)), problems)
        return
    allowed = COMMON_FIELDS + TYPE_FIELDS[kind]
    elsewhere: dict[str, str] = {}
    for key in {k for names in TYPE_FIELDS.values() for k in names} - set(allowed):
        # a type not supported yet is no place to send the field to
        owners = [t.value for t, names in TYPE_FIELDS.items() if key in names
                  and t not in NOT_YET]
        if owners:
            where = " and ".join(owners)
            elsewhere[key] = f"is only valid for {where} steps; this is a {kind.value} step"
    f.check_unknown(spec, path, allowed, problems, elsewhere)


def _agent(
    spec: Mapping[str, Any], path: str, kind: StepType | None, problems: f.Problems
) -> str | None:
    if kind is not StepType.TASK and "agent" not in spec:
        return None
    if "agent" not in spec:
        problems.add(
            f.child(path, "agent"),
            "required for task steps: the capability to run, such as 'kyc.verify'",
        )
        return None
    return f.capability(spec["agent"], f.child(path, "agent"), problems)


def _needs(
    value: Any, path: str, step_id: str, known: Collection[str], problems: f.Problems
) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        problems.add(path, f"must be a list of step ids such as [kyc], got {f.describe(value)}")
        return ()
    needs: list[str] = []
    for index, dep in enumerate(value):
        at = f.item(path, index)
        if not isinstance(dep, str):
            problems.add(at, f"must be a step id, got {f.describe(dep)}")
        elif dep == step_id:
            problems.add(at, f"step {dep!r} cannot need itself")
        elif dep not in known:
            problems.add(at, f"unknown step {dep!r}{_hint(dep, known)}")
        elif dep in needs:
            problems.add(at, f"{dep!r} is listed twice")
        else:
            needs.append(dep)
    return tuple(needs)


def condition(
    value: Any, path: str, known: Collection[str], problems: f.Problems
) -> expressions.Expression | None:
    """A ``when`` condition: a CEL expression string whose step references are known."""
    if not isinstance(value, str):
        problems.add(path, f"must be a CEL expression string (quote it), got {f.describe(value)}")
        return None
    if value.strip().startswith("${") and value.strip().endswith("}"):
        problems.add(path, "write the condition without '${...}': 'when' is already an expression")
        return None
    try:
        expression = expressions.compile_expression(value)
    except expressions.ExpressionSyntaxError as exc:
        problems.add(path, str(exc))
        return None
    _check_refs(expression.referenced_steps, path, known, problems)
    return expression


def _input(
    value: Any, path: str, known: Collection[str], problems: f.Problems
) -> expressions.Template | None:
    if not isinstance(value, Mapping):
        problems.add(path, f"must be a mapping of input fields, got {f.describe(value)}")
        return None
    return _template(value, path, known, problems)


def _template(
    value: Any, path: str, known: Collection[str], problems: f.Problems
) -> expressions.Template | None:
    """Compile a template, reporting bad parts at their own paths and unknown steps."""
    if not f.is_json(value):
        return None  # check_json has reported where
    try:
        template = expressions.compile_template(value)
    except expressions.TemplateSyntaxError as exc:
        for keys, message in exc.problems:
            at = path
            for key in keys:
                at = f.item(at, key) if isinstance(key, int) else f.child(at, key)
            problems.add(at, message)
        _check_refs(exc.referenced_steps, path, known, problems)
        return None
    _check_refs(template.referenced_steps, path, known, problems)
    return template


def _check_refs(
    names: Collection[str], path: str, known: Collection[str], problems: f.Problems
) -> None:
    for name in sorted(set(names) - set(known)):
        problems.add(path, f"refers to unknown step {name!r}{_hint(name, known)}")


def _hint(name: str, known: Collection[str]) -> str:
    return f.suggest(name, known) or f" (known steps: {', '.join(sorted(known)) or 'none'})"


def _options(
    spec: Mapping[str, Any],
    path: str,
    kind: StepType | None,
    known: set[str],
    problems: f.Problems,
) -> dict[str, Any]:
    if kind is StepType.WAIT:
        return {"signal": _required_name(spec, path, "signal", "signal name", problems)}
    if kind is StepType.WORKFLOW:
        return {"workflow": _required_name(spec, path, "workflow", "workflow name", problems)}
    if kind is StepType.SLEEP:
        return _sleep(spec, path, known, problems)
    return {}


def _required_name(
    spec: Mapping[str, Any], path: str, key: str, what: str, problems: f.Problems
) -> str:
    if key not in spec:
        problems.add(f.child(path, key), f"required for {spec.get('type')} steps: the {what}")
        return ""
    return f.name(spec[key], f.child(path, key), problems, what)


def _sleep(
    spec: Mapping[str, Any], path: str, known: set[str], problems: f.Problems
) -> dict[str, Any]:
    if ("for" in spec) == ("until" in spec):
        problems.add(
            path,
            "sleep steps need exactly one of 'for' (a duration such as '10m') or 'until' "
            "(an ISO-8601 timestamp or '${expression}')",
        )
        return {}
    if "for" in spec:
        return {"for": f.duration(spec["for"], f.child(path, "for"), problems)}
    return {"until": _until(spec["until"], f.child(path, "until"), known, problems)}


def _until(
    value: Any, path: str, known: set[str], problems: f.Problems
) -> expressions.Template | None:
    """An ISO-8601 timestamp with a time zone, or a ``${expr}`` template rendering one."""
    text = f.string(value, path, problems)
    if "${" in text:
        return _template(text, path, known, problems)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if isinstance(value, str) and (moment is None or moment.tzinfo is None):
        problems.add(
            path,
            f"{text!r} is not an ISO-8601 timestamp with a time zone, "
            "such as '2026-01-31T09:00:00Z', nor a '${expression}'",
        )
    return expressions.compile_template(text)
