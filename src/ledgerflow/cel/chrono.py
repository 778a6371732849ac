"""CEL timestamps and durations with nanoseconds: parsing, printing, arithmetic, getters.

Timestamps range over ``0001-01-01T00:00:00Z`` .. ``9999-12-31T23:59:59.999999999Z`` and
durations over a signed 64-bit count of nanoseconds (about ±292 years), as the spec says;
results outside raise ``CelError``. Time zones come from ``zoneinfo`` (IANA names) or
``[+-]HH:MM`` offsets.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from dataclasses import dataclass
from fractions import Fraction

from ledgerflow.cel.errors import CelError

NANOS = 1_000_000_000
MIN_SECONDS = -62135596800  # 0001-01-01T00:00:00Z
MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z
DURATION_MAX = 2**63 - 1
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True, slots=True, order=True)
class Timestamp:
    """Nanoseconds since the Unix epoch (UTC)."""

    ns: int

    def __post_init__(self) -> None:
        if not MIN_SECONDS * NANOS <= self.ns < (MAX_SECONDS + 1) * NANOS:
            raise CelError("timestamp out of range (years 0001 to 9999)")

    def __str__(self) -> str:
        return format_timestamp(self)


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """A signed count of nanoseconds."""

    ns: int

    def __post_init__(self) -> None:
        if not -DURATION_MAX - 1 <= self.ns <= DURATION_MAX:
            raise CelError("duration out of range (about ±292 years)")

    def __str__(self) -> str:
        return format_duration(self)


_RFC3339 = re.compile(
    r"(\d{4,})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d)\Z"
)


def parse_timestamp(text: str) -> Timestamp:
    """An RFC 3339 timestamp (``2009-02-13T23:31:30.5Z``, offsets allowed)."""
    match = _RFC3339.match(text)
    if not match:
        raise CelError(f"timestamp {text!r} is not an RFC 3339 time (like 2009-02-13T23:31:30Z)")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if not 1 <= year <= 9999:
        raise CelError(f"timestamp {text!r} out of range (years 0001 to 9999)")
    try:
        days = datetime.date(year, month, day).toordinal() - _EPOCH.toordinal()
    except ValueError as exc:
        raise CelError(f"timestamp {text!r} is not a valid date: {exc}") from None
    if hour > 23 or minute > 59 or second > 59:
        raise CelError(f"timestamp {text!r} is not a valid time of day")
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - _offset_seconds(match[8])
    fraction = int((match[7] or "").ljust(9, "0"))
    return Timestamp(seconds * NANOS + fraction)


def _offset_seconds(zone: str) -> int:
    if zone in "Zz":
        return 0
    sign = -1 if zone[0] == "-" else 1
    return sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)


def format_timestamp(value: Timestamp) -> str:
    """RFC 3339 in UTC with as many fraction digits as needed (none, or up to nine)."""
    seconds, nanos = divmod(value.ns, NANOS)
    moment = _EPOCH + datetime.timedelta(seconds=seconds)
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}{fraction}Z")


_DURATION_PART = re.compile(r"(\d*(?:\.\d*)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1000, "µs": 1000, "ms": 10**6, "s": NANOS, "m": 60 * NANOS,
          "h": 3600 * NANOS}


def parse_duration(text: str) -> Duration:
    """A duration like ``1.5s``, ``-1h30m`` or ``100ns`` (units h, m, s, ms, us, ns)."""
    body = text[1:] if text[:1] in "+-" else text
    total, position = Fraction(0), 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if not match or match[1] in ("", "."):
            raise CelError(f"duration {text!r} is not like '1.5s' or '1h30m'")
        total += Fraction(match[1]) * _UNITS[match[2]]
        position = match.end()
    if not body:
        raise CelError(f"duration {text!r} is empty; write e.g. '0s'")
    ns = int(total)
    return Duration(-ns if text.startswith("-") else ns)


def format_duration(value: Duration) -> str:
    """Seconds with the fraction needed: ``1.5s``, ``-0.000000001s``, ``3600s``."""
    sign = "-" if value.ns < 0 else ""
    seconds, nanos = divmod(abs(value.ns), NANOS)
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    return f"{sign}{seconds}{fraction}s"


def from_seconds(seconds: int) -> Timestamp:
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise CelError("timestamp out of range (years 0001 to 9999)")
    return Timestamp(seconds * NANOS)


def unix_seconds(value: Timestamp) -> int:
    return value.ns // NANOS


def _zone(name: str) -> datetime.tzinfo:
    match = re.fullmatch(r"([+-]?)(\d\d):(\d\d)", name)
    if match:
        delta = datetime.timedelta(hours=int(match[2]), minutes=int(match[3]))
        return datetime.timezone(-delta if match[1] == "-" else delta)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CelError(f"unknown time zone {name!r}; use an IANA name or '+HH:MM'") from None


def _local(value: Timestamp, zone: str | None) -> datetime.datetime:
    moment = _EPOCH + datetime.timedelta(seconds=value.ns // NANOS)
    try:
        return moment.astimezone(_zone(zone)) if zone is not None else moment
    except OverflowError:
        raise CelError("timestamp out of range in that time zone") from None


_TIMESTAMP_GETTERS = {
    "getFullYear": lambda t: t.year,
    "getMonth": lambda t: t.month - 1,
    "getDate": lambda t: t.day,
    "getDayOfMonth": lambda t: t.day - 1,
    "getDayOfYear": lambda t: t.timetuple().tm_yday - 1,
    "getDayOfWeek": lambda t: t.isoweekday() % 7,
    "getHours": lambda t: t.hour,
    "getMinutes": lambda t: t.minute,
    "getSeconds": lambda t: t.second,
}
_DURATION_UNITS = {"getHours": 3600 * NANOS, "getMinutes": 60 * NANOS, "getSeconds": NANOS}
GETTERS = (*_TIMESTAMP_GETTERS, "getMilliseconds")


def get(name: str, value: Timestamp | Duration, zone: str | None = None) -> int:
    """The getter ``name`` of a timestamp (in ``zone``, default UTC) or a duration."""
    if isinstance(value, Duration):
        if zone is not None or (name not in _DURATION_UNITS and name != "getMilliseconds"):
            raise CelError(f"no such overload: duration.{name}")
        if name == "getMilliseconds":
            return _trunc(_trunc_mod(value.ns, NANOS), 10**6)
        return _trunc(value.ns, _DURATION_UNITS[name])
    if name == "getMilliseconds":
        return (value.ns % NANOS) // 10**6
    return int(_TIMESTAMP_GETTERS[name](_local(value, zone)))


def _trunc(a: int, b: int) -> int:
    """Division rounding toward zero."""
    quotient = abs(a) // b
    return -quotient if a < 0 else quotient


def _trunc_mod(a: int, b: int) -> int:
    return a - b * _trunc(a, b)


def add(a: object, b: object) -> Timestamp | Duration | None:
    """``a + b`` for timestamp/duration operands, None when the kinds do not fit."""
    if isinstance(a, Timestamp) and isinstance(b, Duration):
        return Timestamp(a.ns + b.ns)
    if isinstance(a, Duration) and isinstance(b, Timestamp):
        return Timestamp(a.ns + b.ns)
    if isinstance(a, Duration) and isinstance(b, Duration):
        return Duration(a.ns + b.ns)
    return None


def subtract(a: object, b: object) -> Timestamp | Duration | None:
    """``a - b`` for timestamp/duration operands, None when the kinds do not fit."""
    if isinstance(a, Timestamp) and isinstance(b, Timestamp):
        return Duration(a.ns - b.ns)
    if isinstance(a, Timestamp) and isinstance(b, Duration):
        return Timestamp(a.ns - b.ns)
    if isinstance(a, Duration) and isinstance(b, Duration):
        return Duration(a.ns - b.ns)
    return None
