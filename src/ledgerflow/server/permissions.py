"""The lowest role each operation needs, by OpenAPI operation id. Deny by default: a route
whose operation is missing here answers 403 to everyone (and a test fails first)."""

from __future__ import annotations

NONE = "none"  # no token at all (health and readiness)

NEEDS: dict[str, str] = {
    "healthz": NONE,
    "readyz": NONE,
    "me": "any",
}
