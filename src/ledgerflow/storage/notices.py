"""What writers tell listening workers (PostgreSQL ``NOTIFY``; nothing on SQLite, whose one
worker polls): there is work to claim, or an execution changed outside its holder."""

from __future__ import annotations

CHANNEL = "ledgerflow"
WORK = "work"  # something to claim
WAKE = "wake "  # + an execution id: its holder should reload it
