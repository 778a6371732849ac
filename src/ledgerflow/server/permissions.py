"""The lowest role each operation needs, by OpenAPI operation id. Deny by default: a route
whose operation is missing here answers 403 to everyone (and a test fails first).

Roles: ``none`` (no token), ``any`` (any valid token), ``viewer`` < ``operator`` <
``admin`` (a tenant's), ``metrics``, ``system`` (``ledgerflow.access.roles``)."""

from __future__ import annotations

NONE = "none"  # no token at all (health and readiness)

SYSTEM: dict[str, str] = {
    "healthz": NONE,
    "readyz": NONE,
    "me": "any",
    "metrics": "metrics",
}

# routes/executions.py: start, list, count, get, status, signals
EXECUTIONS: dict[str, str] = {
    "start_execution": "operator",
    "list_executions": "viewer",
    "count_executions": "viewer",
    "get_execution": "viewer",
    "get_execution_status": "viewer",
    "send_signal": "operator",
}

# routes/control.py: pause, resume, cancel, retry, rerun, fork, batch
CONTROL: dict[str, str] = {
    "pause_execution": "operator",
    "resume_execution": "operator",
    "cancel_execution": "operator",
    "retry_execution": "operator",
    "rerun_execution": "operator",
    "fork_execution": "operator",
    "batch_control": "operator",
    "get_batch": "viewer",
}

# routes/seed.py: the seed's process-engine routes
SEED: dict[str, str] = {
    "seed_pause": "operator",
    "seed_resume": "operator",
    "seed_cancel": "operator",
    "seed_status": "viewer",
}

# routes/definitions.py
DEFINITIONS: dict[str, str] = {
    "apply_definition": "admin",
    "validate_definition": "viewer",
    "list_definitions": "viewer",
    "get_definition": "viewer",
}

# routes/ledger.py: history, state, diff, state edits, logs, routing, graph, timeline;
# routes/events.py: live events
LEDGER: dict[str, str] = {
    "get_history": "viewer",
    "get_state": "viewer",
    "get_state_diff": "viewer",
    "patch_state": "operator",
    "get_logs": "viewer",
    "get_routing": "viewer",
    "get_graph": "viewer",
    "get_timeline": "viewer",
    # routes/events.py: live events of an execution, of the tenant's executions
    "stream_execution_events": "viewer",
    "stream_tenant_events": "viewer",
}

# routes/agents.py: agents, breakers, workers, verify
AGENTS: dict[str, str] = {
    "list_agents": "viewer",
    "list_breaker_transitions": "viewer",
    "reset_breaker": "admin",
    "list_workers": "viewer",
    "verify": "viewer",
}

# routes/tokens.py: tokens and admin tenants
TOKENS: dict[str, str] = {
    "create_token": "admin",
    "list_tokens": "admin",
    "revoke_token": "admin",
    "create_tenant": "system",
    "list_tenants": "system",
}

NEEDS: dict[str, str] = {**SYSTEM, **EXECUTIONS, **CONTROL, **SEED, **DEFINITIONS, **LEDGER,
                         **AGENTS, **TOKENS}
