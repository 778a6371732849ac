"""The live dashboard under ``/ui`` (FACES.md §5): server-rendered pages (Jinja2), vendored
htmx for actions, one server-sent event stream per execution page.

Who may do what: a dashboard route names the API operation it mirrors (``pause`` →
``pause_execution``) and needs that operation's role from ``server.permissions.NEEDS``, the
API's own table, checked by ``security.caller_as`` for the session's token; so a viewer sees
the pages, gets no action buttons, and a forged action is refused (403) as the API would
refuse it. The /ui routes are not API operations: they are left out of the OpenAPI
document (``include_in_schema=False``) and of the role table.

Sessions and CSRF: ``dashboard.session``. Pages: ``dashboard.pages`` (what an execution's
page reads a page at a time or on demand: ``dashboard.step_pages``); definitions, agents,
workers and tokens: ``dashboard.catalog`` (the agents and workers tables, live:
``dashboard.live_tables``); actions, sign-in and
the live stream: ``dashboard.actions``; templates and error pages: ``dashboard.render``.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

PREFIX = "/ui"


def install(api: FastAPI) -> None:
    """Serve the dashboard from ``api`` under ``/ui`` (its static files under
    ``/ui/static``)."""
    from ledgerflow.dashboard import actions, catalog, live_tables, pages, step_pages

    static = resources.files("ledgerflow.dashboard") / "static"
    api.mount(f"{PREFIX}/static", StaticFiles(directory=str(static)), name="ui-static")
    api.include_router(pages.router)
    api.include_router(step_pages.router)
    api.include_router(catalog.router)  # before actions: its catch-all would shadow these
    api.include_router(live_tables.router)
    api.include_router(actions.router)
