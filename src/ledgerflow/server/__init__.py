"""The HTTP face: ``ledgerflow serve``'s REST API under ``/api/v1`` (FastAPI).

``app.create_app`` builds it around an ``App``; every route names an operation id whose
lowest role ``permissions.NEEDS`` holds (deny by default); ``security`` turns the bearer
token into the caller (its tenant's view of the engine); ``problems`` answers every error
as RFC 9457 ``application/problem+json``; ``limits`` refuses oversized and over-deep bodies
before they are parsed; ``idempotency`` answers a retried POST with its first answer
(``Idempotency-Key``). Routes are synchronous: FastAPI runs them in its thread pool, where
they call the engine as the Python API does.
"""
