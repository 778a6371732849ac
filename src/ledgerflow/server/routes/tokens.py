"""Routes: tokens (see FACES.md §3). Each route's operation id is in ``permissions.NEEDS``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
