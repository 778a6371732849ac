"""What each role may do. Deny by default: an operation names the lowest role it needs.

A tenant's roles are ordered ``viewer`` < ``operator`` < ``admin``: each may do what the ones
below it do. ``metrics`` may only read the metrics; ``system`` manages tenants and reads no
tenant's data. ``any`` (an operation such as ``me``) needs a valid token of any role.
"""

from __future__ import annotations

from ledgerflow import errors

TENANT_ROLES = ("viewer", "operator", "admin")
ROLES = (*TENANT_ROLES, "metrics", "system")
NEEDS = (*ROLES, "any")


def allows(role: str, needed: str) -> bool:
    """Whether a token of ``role`` may do an operation that needs ``needed``."""
    if needed == "any":
        return role in ROLES
    if needed in TENANT_ROLES and role in TENANT_ROLES:
        return TENANT_ROLES.index(role) >= TENANT_ROLES.index(needed)
    return role == needed


def require(role: str, needed: str, doing: str) -> None:
    if not allows(role, needed):
        raise errors.Forbidden(
            f"a {role} token may not {doing}: it needs the {needed} role", role=role,
            needed=needed)


def may_mint(role: str, wanted: str) -> bool:
    """Whether a token of ``role`` may make a token of ``wanted``: never a wider one. A
    tenant's admin makes the tenant's roles; system makes any (tenants' first admins)."""
    if role == "system":
        return wanted in ROLES
    return wanted in TENANT_ROLES and allows(role, "admin") and allows(role, wanted)
