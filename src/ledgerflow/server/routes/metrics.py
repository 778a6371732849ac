"""``/metrics``: Prometheus text (role ``metrics``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ledgerflow.server.security import Caller, caller

router = APIRouter()


@router.get("/metrics", operation_id="metrics", tags=["system"], response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}},
                             "description": "Prometheus text exposition"}})
def metrics(request: Request, who: Annotated[Caller, Depends(caller)]) -> Response:
    """The server's metrics and the database's gauges (a ``metrics`` token)."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
