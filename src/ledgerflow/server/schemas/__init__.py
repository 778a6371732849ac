"""Pydantic models of request and response bodies (the OpenAPI document is made from
them), one module per group of routes."""
