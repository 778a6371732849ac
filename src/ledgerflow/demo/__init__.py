"""The client-onboarding demo: a definition and its domain agents, shipped with ledgerflow."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

DEFINITION_FILE = "onboarding.yaml"

CASES: list[dict[str, Any]] = [
    {"entity_name": "Blackstone Asset Management", "entity_type": "CORPORATE",
     "jurisdiction": "US", "products": ["CUSTODY", "TRADING"]},
    {"entity_name": "Meridian Family Trust", "entity_type": "TRUST", "jurisdiction": "LU",
     "products": ["CUSTODY"]},
    {"entity_name": "Alice Martin", "entity_type": "INDIVIDUAL", "jurisdiction": "GB",
     "products": ["TRADING"]},
    {"entity_name": "Nordlicht Capital GmbH", "entity_type": "CORPORATE", "jurisdiction": "DE",
     "products": ["CUSTODY", "FUND_ACCOUNTING"]},
]


def definition_path() -> Path:
    return Path(str(resources.files(__package__).joinpath(DEFINITION_FILE)))
