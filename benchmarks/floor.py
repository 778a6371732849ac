"""The floor: a single-threaded Python loop that records the facts the engine records per
step, with group commit (or, run one execution at a time, one commit per step), and nothing
else. What the engine could approach on this machine.

Per step, in one transaction per round (one step of each of ``in_flight`` executions):
the step run completed (UPDATE), two chained ledger entries (the step's completion and the
next step's start, or the execution's end) with their bodies, hashes and payloads, the next
step run (INSERT), the execution's head (UPDATE), a routing decision, a telemetry row, the
agent's statistics (UPSERT) and, when the state changes, a new state version (the whole
document). Bodies are hashed as the ledger does: SHA-256 of a domain prefix and the sorted,
compact JSON of the 16 body fields. No scheduling, leases, recovery, retries or routing
logic: those are what the engine adds.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from uuid_utils import uuid7
from workloads import STEPS, condition, has_when, render, score, start_input

PREFIX = b"ledgerflow/audit-entry/v1\n"
GENESIS = "0" * 64
SCHEMA = """
CREATE TABLE executions (id TEXT PRIMARY KEY, status TEXT, seq INTEGER, head_hash TEXT,
  state_version INTEGER, updated_at TEXT);
CREATE TABLE step_runs (execution_id TEXT, step_id TEXT, status TEXT, attempt INTEGER,
  input TEXT, output TEXT, started_at TEXT, finished_at TEXT,
  PRIMARY KEY (execution_id, step_id));
CREATE TABLE ledger_entries (execution_id TEXT, seq INTEGER, event_type TEXT, body TEXT,
  entry_hash TEXT, payload TEXT, PRIMARY KEY (execution_id, seq));
CREATE TABLE state_versions (execution_id TEXT, version INTEGER, state TEXT,
  PRIMARY KEY (execution_id, version));
CREATE TABLE routing_decisions (id INTEGER PRIMARY KEY, execution_id TEXT, step_id TEXT,
  agent TEXT, reason TEXT, decided_at TEXT);
CREATE TABLE telemetry (id INTEGER PRIMARY KEY, execution_id TEXT, step_id TEXT,
  message TEXT, fields TEXT, occurred_at TEXT);
CREATE TABLE agent_stats (agent TEXT PRIMARY KEY, ok INTEGER, failed INTEGER, ms REAL);
"""


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Execution:
    __slots__ = ("head", "id", "input", "seq", "state", "step", "version")

    def __init__(self, input: Any) -> None:
        self.id, self.input = str(uuid7()), input  # time-ordered, as the engine's ids
        self.seq, self.head, self.step, self.version = 0, GENESIS, 0, 0
        self.state: dict[str, Any] = {}


class Floor:
    def __init__(self, path: Path, workload: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.executescript(SCHEMA)
        self.realistic = workload == "realistic"
        self.write_seconds = 0.0  # wall time inside the rounds' transactions
        self.header = {"v": 1, "tenant_id": "default", "workflow_id": workload,
                       "workflow_version": 1, "definition_sha256": sha(workload),
                       "actor": {"kind": "worker", "id": "floor"}, "attempt": 1}

    def entry(self, ex: Execution, event: str, step: str | None, payload: Any, now: str,
              states: tuple[str, str]) -> tuple[Any, ...]:
        ex.seq += 1
        text = dumps(payload)
        body = dumps({**self.header, "execution_id": ex.id, "seq": ex.seq, "event_type": event,
                      "from_state": states[0], "to_state": states[1], "step_id": step,
                      "occurred_at": now, "payload_sha256": sha(text), "prev_hash": ex.head})
        ex.head = hashlib.sha256(PREFIX + body.encode()).hexdigest()
        return (ex.id, ex.seq, event, body, ex.head, text)

    def start(self, count: int) -> list[Execution]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out = [Execution(start_input("realistic" if self.realistic else "trivial"))
               for _ in range(count)]
        self.conn.execute("BEGIN IMMEDIATE")
        for ex in out:
            self.conn.execute("INSERT INTO ledger_entries VALUES (?, ?, ?, ?, ?, ?)", self.entry(
                ex, "execution.created", None, {"input": ex.input}, now, ("", "running")))
            self.conn.execute("INSERT INTO executions VALUES (?, 'running', ?, ?, 0, ?)",
                              (ex.id, ex.seq, ex.head, now))
            self.conn.execute("INSERT INTO step_runs VALUES (?, 's0', 'running', 1, NULL, NULL,"
                              " ?, NULL)", (ex.id, now))
        self.conn.execute("COMMIT")
        return out

    def advance(self, ex: Execution, now: str, w: dict[str, list[tuple[Any, ...]]]) -> bool:
        """Complete ``ex``'s current step and record it; True when the execution ended."""
        i, step = ex.step, f"s{ex.step}"
        output = None
        if self.realistic and (not has_when(i) or condition(ex.input)):
            data = render(i, ex.input, ex.state)
            output = score(i)
            ex.state[step] = output
            ex.version += 1
            w["versions"].append((ex.id, ex.version, dumps(ex.state)))
            w["inputs"].append((dumps(data), ex.id, step))
        w["done"].append((dumps(output), now, ex.id, step))
        w["ledger"].append(self.entry(ex, "step.completed", step, {"output": output}, now,
                                      ("running", "completed")))
        w["decisions"].append((ex.id, step, "bench.score", '{"reason":"only candidate"}', now))
        w["telemetry"].append((ex.id, step, "step completed", '{"ms":0.1}', now))
        ex.step += 1
        last = ex.step == STEPS
        nxt = None if last else f"s{ex.step}"
        w["ledger"].append(self.entry(
            ex, "execution.completed" if last else "step.started", nxt, {"output": output},
            now, ("running", "completed" if last else "running")))
        if nxt:
            w["next"].append((ex.id, nxt, now))
        w["heads"].append(("completed" if last else "running", ex.seq, ex.head, ex.version,
                           now, ex.id))
        return last

    def round(self, active: list[Execution]) -> list[Execution]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        w: dict[str, list[tuple[Any, ...]]] = {k: [] for k in (
            "versions", "inputs", "done", "ledger", "decisions", "telemetry", "next", "heads")}
        left = [ex for ex in active if not self.advance(ex, now, w)]
        c = self.conn
        began = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        c.executemany("UPDATE step_runs SET input = ? WHERE execution_id = ? AND step_id = ?",
                      w["inputs"])
        c.executemany("UPDATE step_runs SET status = 'completed', output = ?, finished_at = ? "
                      "WHERE execution_id = ? AND step_id = ?", w["done"])
        c.executemany("INSERT INTO ledger_entries VALUES (?, ?, ?, ?, ?, ?)", w["ledger"])
        c.executemany("INSERT INTO state_versions VALUES (?, ?, ?)", w["versions"])
        c.executemany("INSERT INTO routing_decisions (execution_id, step_id, agent, reason, "
                      "decided_at) VALUES (?, ?, ?, ?, ?)", w["decisions"])
        c.executemany("INSERT INTO telemetry (execution_id, step_id, message, fields, "
                      "occurred_at) VALUES (?, ?, ?, ?, ?)", w["telemetry"])
        c.execute("INSERT INTO agent_stats VALUES ('bench.score', ?, 0, 0.1) ON CONFLICT "
                  "(agent) DO UPDATE SET ok = ok + excluded.ok, ms = ms + excluded.ms",
                  (len(active),))
        c.executemany("INSERT INTO step_runs VALUES (?, ?, 'running', 1, NULL, NULL, ?, NULL)",
                      w["next"])
        c.executemany("UPDATE executions SET status = ?, seq = ?, head_hash = ?, "
                      "state_version = ?, updated_at = ? WHERE id = ?", w["heads"])
        c.execute("COMMIT")
        self.write_seconds += time.perf_counter() - began
        return left


def run(path: Path, workload: str, executions: int, in_flight: int
        ) -> tuple[float, float, float]:
    """Run ``executions`` through the floor, ``in_flight`` at a time: wall and CPU seconds,
    and the wall seconds inside its transactions (the inserts of the executions, made
    first, are not counted)."""
    floor = Floor(path, workload)
    waiting = floor.start(executions)
    active, waiting = waiting[:in_flight], waiting[in_flight:]
    t0, cpu0 = time.perf_counter(), time.process_time()
    while active:
        active = floor.round(active)
        refill, waiting = waiting[:in_flight - len(active)], waiting[in_flight - len(active):]
        active += refill
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    floor.conn.close()
    return elapsed, cpu, floor.write_seconds
