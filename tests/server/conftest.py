"""The API through HTTP on each backend: ``api`` is a client of the served app, ``tokens``
makes a token of any role for a tenant (through ``App.access``, as the CLI does)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from ledgerflow import App
from ledgerflow.server.app import create_app
from tests.support import Agents


@dataclass
class Served:
    engine: App
    client: TestClient

    def token(self, role: str = "admin", tenant: str | None = "default") -> str:
        if tenant is not None and tenant != "default" and not any(
                t.id == tenant for t in self.engine.access.tenants()):
            self.engine.access.create_tenant(tenant)
        return self.engine.access.create_token(tenant, role).secret

    def headers(self, role: str = "admin", tenant: str | None = "default") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, tenant)}"}


@pytest.fixture
def served(request: pytest.FixtureRequest, backend_url: str, agents: Agents
           ) -> Iterator[Served]:
    """The API on each backend; on the test's ``FakeClock`` when the test takes the
    ``clock`` fixture too."""
    clock = request.getfixturevalue("clock") if "clock" in request.fixturenames else None
    engine = App(backend_url, clock=clock)
    agents.register(engine)
    with TestClient(create_app(engine), raise_server_exceptions=False) as client:
        yield Served(engine=engine, client=client)
    engine.close()
