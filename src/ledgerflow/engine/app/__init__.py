"""``App``: the engine as a Python object (``core``: set-up, tenancy, starting, control;
``reads``: what it reports). The faces (CLI, API, dashboard) are thin layers over it."""

from ledgerflow.engine.app.core import DEFAULT_TENANT, App, default_actor, worker_actor

__all__ = ["DEFAULT_TENANT", "App", "default_actor", "worker_actor"]
