"""Building blocks of definition validation: the problem list, paths, and field checks.

Every check takes the path of what it checks and a ``Problems`` list, adds one message per
problem it finds, and returns the parsed value (or a harmless fallback), so validation goes
on and reports every problem at once.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from enum import StrEnum
from typing import Any

from ledgerflow.definition import durations
from ledgerflow.definition.model import BackoffKind, OutputMode, OutputTarget, RetryPolicy

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
NAME_RULE = "use 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit"
CAPABILITY_RE = re.compile(r"(?=.{1,128}$)[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")
STATE_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
RETRY_FIELDS = ("max_attempts", "backoff", "initial", "max")
_DEFAULT_RETRY = RetryPolicy()


class Problems:
    """The problems found so far, each ``"<path>: <message>"``.

    A path can be *settled*: a problem was already reported for the value there (for
    example "not a JSON value"), so later checks of the same path stay quiet.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._settled: set[str] = set()

    def add(self, path: str, message: str) -> None:
        if path in self._settled:
            return
        self.messages.append(f"{path}: {message}" if path else message)

    def settle(self, path: str, message: str) -> None:
        """Report ``message`` at ``path`` and silence later problems at that same path."""
        self.add(path, message)
        self._settled.add(path)

    def __bool__(self) -> bool:
        return bool(self.messages)


Check = Callable[[Any, str, Problems], Any]


class Present:
    """Reads optional fields of one mapping: the check's result when present, else a default."""

    def __init__(self, spec: Mapping[str, Any], path: str, problems: Problems) -> None:
        self.spec, self.path, self.problems = spec, path, problems

    def get(self, key: str, default: Any, check: Check) -> Any:
        if key not in self.spec:
            return default
        return check(self.spec[key], child(self.path, key), self.problems)


def child(path: str, key: str) -> str:
    """The path of ``key`` inside the object at ``path`` (``steps[0]`` + ``id``)."""
    if not _PLAIN_KEY.fullmatch(key):
        return f"{path}[{json.dumps(key, ensure_ascii=False)}]"
    return f"{path}.{key}" if path else key


def item(path: str, index: int) -> str:
    return f"{path}[{index}]"


def describe(value: Any) -> str:
    """Name a value's JSON kind for messages: ``a list``, ``the number 5``, ``true``."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__} value"


def is_json(value: Any) -> bool:
    """True when ``value`` holds only JSON types (string keys, no sets, dates, bytes)."""
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and is_json(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(is_json(v) for v in value)
    return value is None or isinstance(value, str | int | float)


def suggest(word: str, choices: Collection[str]) -> str:
    """``" (did you mean 'x'?)"`` for a close match, else an empty string."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_fields(
    obj: Mapping[str, Any],
    path: str,
    allowed: Collection[str],
    elsewhere: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """``(path, message)`` for each key of ``obj`` not in ``allowed``.

    ``elsewhere`` maps keys that are valid in another context to a note saying where.
    """
    found = []
    for key in obj:
        if not isinstance(key, str) or key in allowed:
            continue
        if elsewhere and key in elsewhere:
            found.append((path, f"field {key!r} {elsewhere[key]}"))
            continue
        hint = suggest(key, allowed) or f"; allowed: {', '.join(allowed)}"
        noun = "field" if path else "top-level field"
        found.append((path, f"unknown {noun} {key!r}{hint}"))
    return found


def check_unknown(
    obj: Mapping[str, Any],
    path: str,
    allowed: Collection[str],
    problems: Problems,
    elsewhere: Mapping[str, str] | None = None,
) -> None:
    for where, message in unknown_fields(obj, path, allowed, elsewhere):
        problems.add(where, message)


def string(value: Any, path: str, problems: Problems) -> str:
    if isinstance(value, str):
        return value
    problems.add(path, f"must be a string, got {describe(value)}")
    return ""


def name(value: Any, path: str, problems: Problems, what: str = "name") -> str:
    """A name or id matching ``NAME_RE``."""
    text = string(value, path, problems)
    if isinstance(value, str) and not NAME_RE.fullmatch(text):
        problems.add(path, f"{text!r} is not a valid {what}: {NAME_RULE}")
    return text


def capability(value: Any, path: str, problems: Problems) -> str:
    """A capability name: dot-separated words such as ``kyc.verify``."""
    text = string(value, path, problems)
    if isinstance(value, str) and not CAPABILITY_RE.fullmatch(text):
        problems.add(
            path,
            f"{text!r} is not a valid capability: use dot-separated words of letters, "
            "digits, '_' or '-', such as 'kyc.verify'",
        )
    return text


def boolean(value: Any, path: str, problems: Problems) -> bool:
    if isinstance(value, bool):
        return value
    problems.add(path, f"must be true or false, got {describe(value)}")
    return False


def duration(value: Any, path: str, problems: Problems, *, positive: bool = False) -> float:
    """A duration in seconds; with ``positive`` zero is refused too."""
    try:
        seconds = durations.parse_duration(value)
    except durations.DurationError as exc:
        problems.add(path, str(exc))
        return 0.0
    if positive and seconds <= 0:
        problems.add(path, f"must be longer than zero, got {value!r}")
    return seconds


def output_target(value: Any, path: str, problems: Problems) -> OutputTarget:
    """``"case.kyc"`` or ``{path: "case.kyc", mode: set|append|merge}``."""
    if isinstance(value, Mapping):
        check_unknown(value, path, ("path", "mode"), problems)
        if "path" not in value:
            problems.add(child(path, "path"), "required: the dotted state path, e.g. 'case.kyc'")
        keys = state_path(value.get("path", "x"), child(path, "path"), problems)
        mode = choice(value.get("mode", "set"), child(path, "mode"), OutputMode, problems)
        return OutputTarget(path=keys, mode=OutputMode(mode or "set"))
    if isinstance(value, str):
        return OutputTarget(path=state_path(value, path, problems))
    problems.add(
        path,
        f"must be a dotted state path like 'case.kyc' or {{path: ..., mode: set|append|merge}}, "
        f"got {describe(value)}",
    )
    return OutputTarget(path=("x",))


def state_path(value: Any, path: str, problems: Problems) -> tuple[str, ...]:
    text = string(value, path, problems)
    keys = tuple(text.split("."))
    if isinstance(value, str) and not all(STATE_KEY_RE.fullmatch(k) for k in keys):
        problems.add(
            path,
            f"{text!r} is not a state path: use dot-separated keys of letters, digits, "
            "'_' or '-' (not starting with a digit), such as 'case.kyc'",
        )
    return keys


def choice(value: Any, path: str, options: Iterable[StrEnum], problems: Problems) -> str | None:
    """One of the values of ``options`` (a StrEnum or some of its members); ``None`` (and a
    problem) otherwise."""
    allowed = [member.value for member in options]
    if isinstance(value, str) and value in allowed:
        return value
    shown = repr(value) if isinstance(value, str) else describe(value)
    problems.add(path, f"{shown} is not one of {', '.join(allowed)}")
    return None


def retry_policy(value: Any, path: str, problems: Problems) -> RetryPolicy:
    """``3`` (attempts) or ``{max_attempts, backoff?, initial?, max?}``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return RetryPolicy(max_attempts=_attempts(value, path, problems))
    if not isinstance(value, Mapping):
        problems.add(
            path,
            "must be a number of attempts such as 3, or a mapping "
            f"{{max_attempts, backoff, initial, max}}, got {describe(value)}",
        )
        return RetryPolicy()
    check_unknown(value, path, RETRY_FIELDS, problems)
    at = Present(value, path, problems)
    if "max_attempts" not in value:
        problems.add(child(path, "max_attempts"), "required: how many attempts in all, e.g. 3")
    policy = RetryPolicy(
        max_attempts=at.get("max_attempts", 1, _attempts),
        backoff=BackoffKind(
            at.get("backoff", "exponential", lambda v, p, pr: choice(v, p, BackoffKind, pr))
            or "exponential"
        ),
        initial=at.get("initial", _DEFAULT_RETRY.initial, duration),
        max=at.get("max", _DEFAULT_RETRY.max, duration),
    )
    if policy.initial > policy.max:
        initial = durations.format_duration(policy.initial)
        longest = durations.format_duration(policy.max)
        problems.add(path, f"initial ({initial}) is longer than max ({longest}); raise max")
    return policy


def _attempts(value: Any, path: str, problems: Problems) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    problems.add(path, f"must be a whole number of attempts >= 1, got {describe(value)}")
    return 1
