"""Every operation the OpenAPI document lists × every kind of caller, on each backend: no
token, a revoked one, an expired one, each role of the tenant, metrics, system, and another
tenant's admin. The expected answer comes from the role table (``permissions.NEEDS``) and
the roles' order (``access.roles``), so a new route is covered the day it is added."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledgerflow import App
from ledgerflow.access import roles
from ledgerflow.server import permissions
from ledgerflow.server.app import create_app
from ledgerflow.testing import FakeClock
from tests.support import Agents

FLOW = {"name": "flow", "steps": [{"id": "w", "type": "wait", "signal": "go"}]}
# a body each operation accepts, so that an allowed caller gets past validation
BODIES: dict[str, Any] = {
    "start_execution": {"workflow": "flow", "input": {}},
    "send_signal": {"name": "go"},
    "rerun_execution": {"from_step": "w"},
    "batch_control": {"action": "pause", "ids": []},
    "verify": {},
    "create_token": {"role": "viewer"},
    "create_tenant": {"tenant": "matrix-made"},
}
RAW_BODIES = {"apply_definition": ("application/json", b'{"name": "other", "steps": '
                                                        b'[{"id": "a", "agent": "t.echo"}]}'),
              "validate_definition": ("application/json", b'{"name": "x", "steps": []}'),
              "patch_state": ("application/merge-patch+json", b"{}")}
QUERIES = {"get_state_diff": "?from=1&to=1"}
# path parameters naming an object of the default tenant: another tenant must get a 404
OWNED = {"execution_id", "process_execution_id", "batch_id", "token_id"}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    op_id: str

    @property
    def owned(self) -> bool:
        """Names an object of a tenant (agents are shared by a deployment's workers)."""
        return bool(OWNED & set(re.findall(r"{(\w+)}", self.path))) or (
            self.op_id == "get_definition")


def operations(api: Any) -> list[Operation]:
    return [Operation(method.upper(), path, op["operationId"])
            for path, ops in api.openapi()["paths"].items() for method, op in ops.items()]


@dataclass
class World:
    engine: App
    client: TestClient
    ids: dict[str, str]
    callers: dict[str, str | None]  # name -> the token it presents


@pytest.fixture
def world(backend_url: str, agents: Agents) -> Iterator[World]:
    clock = FakeClock(datetime(2026, 12, 5, tzinfo=UTC))
    engine = App(backend_url, clock=clock)
    agents.register(engine)
    engine.apply(FLOW)
    execution = engine.start("flow", {})
    access = engine.access
    access.create_tenant("acme")
    callers: dict[str, str | None] = {"no token": None}
    for role in (*roles.TENANT_ROLES, "metrics"):
        callers[role] = access.create_token("default", role).secret
    callers["system"] = access.create_token(None, "system").secret
    callers["other tenant's admin"] = access.create_token("acme", "admin").secret
    revoked = access.create_token("default", "admin")
    access.revoke(revoked.row.id)
    callers["revoked"] = revoked.secret
    callers["expired"] = access.create_token("default", "admin", expires_in_days=1).secret
    target = access.create_token("default", "viewer", name="to revoke")
    clock.advance(2 * 86_400)
    with TestClient(create_app(engine, keepalive=0.1), raise_server_exceptions=False) as client:
        batch = client.post("/api/v1/executions/batch", json={"action": "pause", "ids": []},
                            headers={"Authorization": f"Bearer {callers['operator']}"})
        ids = {"execution_id": execution, "process_execution_id": execution,
               "batch_id": batch.json()["batch_id"], "token_id": target.row.id, "name": "flow",
               "version": "1"}
        yield World(engine=engine, client=client, ids=ids, callers=callers)
    engine.close()


def call(world: World, op: Operation, token: str | None) -> int:
    url = re.sub(r"{(\w+)}", lambda m: world.ids[m.group(1)], op.path) + QUERIES.get(
        op.op_id, "")
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if op.op_id.startswith("stream_"):  # a live stream: its status, then hang up
        with world.client.stream(op.method, url, headers=headers) as streamed:
            return streamed.status_code
    if op.op_id in RAW_BODIES:
        kind, raw = RAW_BODIES[op.op_id]
        response = world.client.request(op.method, url, content=raw,
                                        headers={**headers, "Content-Type": kind})
    elif op.op_id in BODIES:
        response = world.client.request(op.method, url, json=BODIES[op.op_id], headers=headers)
    else:
        response = world.client.request(op.method, url, headers=headers)
    return response.status_code


def expected(op: Operation, caller: str) -> str:
    """``401``, ``403``, ``404`` or ``ok``: anything but 401 and 403, and on an object of
    the caller's own tenant not 404 either (another tenant's own lookups may miss: its
    ``flow`` workflow does not exist)."""
    needed = permissions.NEEDS[op.op_id]
    if needed == permissions.NONE:
        return "ok"
    if caller in {"no token", "revoked", "expired"}:
        return "401"
    role = "admin" if caller == "other tenant's admin" else caller
    if not roles.allows(role, needed):
        return "403"
    return "404" if caller == "other tenant's admin" and op.owned else "ok"


def test_every_operation_answers_every_caller_as_the_role_table_says(world: World) -> None:
    ops = operations(world.client.app)
    wrong = []
    head = world.engine.execution(world.ids["execution_id"]).head_seq
    # another tenant first: nothing it tries may change the default tenant's objects
    order = ["other tenant's admin", "no token", "revoked", "expired", "metrics", "system",
             "viewer", "operator", "admin"]
    assert set(order) == set(world.callers)
    for caller in order:
        for op in ops:
            if op.op_id == "revoke_token" and caller == "admin":
                continue  # done last: it revokes the token the others name
            want = expected(op, caller)
            got = call(world, op, world.callers[caller])
            if want != "ok":
                ok = str(got) == want
            else:
                ok = got not in (401, 403) and not (got == 404 and op.owned)
            if not ok:
                wrong.append(f"{op.method} {op.path} as {caller}: {got}, expected {want}")
        if caller == "other tenant's admin":
            assert world.engine.execution(world.ids["execution_id"]).head_seq == head
            assert not any(t.revoked_at for t in world.engine.access.tokens("default")
                           if t.name == "to revoke")
    op = next(o for o in ops if o.op_id == "revoke_token")
    assert call(world, op, world.callers["admin"]) == 204
    assert wrong == [], "\n".join(wrong)
