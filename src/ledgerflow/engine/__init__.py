"""The engine: starts, advances, controls and recovers executions."""
