"""Telemetry: a bounded, non-blocking buffer that writes records to a sink in batches."""

from __future__ import annotations

from ledgerflow.telemetry.buffer import KINDS, BufferStats, Kind, Record, Sink, TelemetryBuffer

__all__ = ["KINDS", "BufferStats", "Kind", "Record", "Sink", "TelemetryBuffer"]
