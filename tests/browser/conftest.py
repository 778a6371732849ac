"""The dashboard in a real browser: Debian's Chromium driven by Playwright (sync API), the
app served by uvicorn on a real socket in a thread, on SQLite.

Never ``playwright install``: ``scripts/test`` installs the ``chromium`` package when it is
missing, and the browser is launched from ``shutil.which("chromium")``; without it these
tests are skipped with the reason (under CI, where it must be there, they fail).

Each test gets its own server and browser, and stops both. Screenshots of the pages go to
``$LEDGERFLOW_SCREENSHOTS`` (or a temporary folder, named at the end of the run)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI

from ledgerflow import App
from ledgerflow.server.app import create_app
from tests.support import SAFETY, Agents, wait_for

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WAIT_MS = SAFETY * 1000  # Playwright's waits: a safety net, never a measure of speed
playwright_api.expect.set_options(timeout=WAIT_MS)  # its assertions' waits too (5 s else)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("LEDGERFLOW_SCREENSHOTS")
    folder = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Site:
    """The served dashboard: its engine, its address, a browser, and screenshots."""

    engine: App
    api: FastAPI  # the served app (its open event streams: ``api.state.streams``)
    base: str
    browser: playwright_api.Browser
    screenshots: Path
    pages: list[playwright_api.Page] = field(default_factory=list)

    def token(self, role: str = "admin", tenant: str = "default") -> str:
        if tenant != "default" and not any(t.id == tenant for t in
                                           self.engine.access.tenants()):
            self.engine.access.create_tenant(tenant)
        return self.engine.access.create_token(tenant, role).secret

    def page(self, viewport: dict[str, int] | None = None) -> playwright_api.Page:
        """A page of a new browser context (its own cookies): one person's tab."""
        context = self.browser.new_context(viewport=viewport or DESKTOP)
        context.set_default_timeout(WAIT_MS)
        found = context.new_page()
        self.pages.append(found)
        return found

    def signed_in(self, role: str = "admin", tenant: str = "default",
                  viewport: dict[str, int] | None = None) -> playwright_api.Page:
        page = self.page(viewport)
        sign_in(page, self.base, self.token(role, tenant))
        playwright_api.expect(page).to_have_url(f"{self.base}/ui/")
        return page

    def url(self, path: str) -> str:
        return self.base + path

    def shot(self, page: playwright_api.Page, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def sign_in(page: playwright_api.Page, base: str, token: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("#token", token)
    page.click("button[type=submit]")


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        reason = "Debian's chromium is not installed (scripts/test installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@pytest.fixture
def site(request: pytest.FixtureRequest, db_url: str, agents: Agents, chromium: str,
         screenshots: Path) -> Iterator[Site]:
    """The served dashboard; its engine runs on the test's ``clock`` when it asks for one."""
    import uvicorn

    clock = request.getfixturevalue("clock") if "clock" in request.fixturenames else None
    engine = App(db_url, clock=clock)
    agents.register(engine)
    api = create_app(engine)
    server = uvicorn.Server(uvicorn.Config(api, log_level="warning", lifespan="on",
                                           timeout_graceful_shutdown=5))
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    running = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                               name="test-dashboard-server")
    running.start()
    try:
        wait_for(lambda: server.started or not running.is_alive(), what="the server listens")
        with playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                yield Site(engine=engine, api=api, base=f"http://127.0.0.1:{port}", browser=browser,
                           screenshots=screenshots)
            finally:
                browser.close()
    finally:
        server.should_exit = True
        running.join(SAFETY)
        sock.close()
        engine.close()
