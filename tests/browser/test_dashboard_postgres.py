"""The dashboard's main promises in Chromium on PostgreSQL: the same tests as on SQLite
(imported here, so pytest runs them again with this module's ``db_url``: a fresh PostgreSQL
database per test). A run moving live, pause, Verify red on a row tampered with in the
database, the 412 banner, another tenant's URL."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Site
from tests.browser.test_dashboard import (  # noqa: F401  (collected again, on PostgreSQL)
    test_a_second_page_acting_on_what_it_loaded_gets_the_changed_banner,
    test_a_two_branch_execution_moves_on_the_page_without_a_reload,
    test_another_tenants_execution_is_not_found_like_a_missing_one,
    test_pause_from_the_page_changes_the_badge_and_no_new_step_starts,
    test_verify_turns_red_naming_a_tampered_entry,
)


@pytest.fixture
def db_url(pg_url: str) -> str:
    """The served database: PostgreSQL (skipped with its reason where there is none)."""
    return pg_url


def test_the_site_of_this_module_is_served_from_postgresql(site: Site) -> None:
    assert site.engine.db_url.startswith(("postgresql://", "postgres://"))
    assert site.engine.store.__class__.__name__.lower().startswith("postgres")
