"""Agents: the registry of handlers per capability, the worker's book of breakers and
statistics that feeds the router, and what operators see and do about agents."""
