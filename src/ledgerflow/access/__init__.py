"""Who may do what: tenants, API tokens and roles.

``tokens`` is the secret's format (pure), ``roles`` what each role allows (pure),
``service`` the tenants and tokens kept in a store. The server and the command line both
go through ``service.Access``; the secret of a token is shown once and never stored.
``idempotency`` keeps the API's idempotency keys, per tenant.
"""
