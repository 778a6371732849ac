"""``ledgerflow worker --metrics-port``: a real worker process serves its counters over
HTTP while it works, in text ``prometheus_client``'s parser reads back."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO

import httpx2 as httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import CRASH_AGENTS, LEDGERFLOW, cli_env, diamond, lf, lf_json, wait_for

SERVING = re.compile(r"metrics on (http://\S+)")


def _read(stream: IO[str], into: list[str], seen: threading.Event) -> None:
    for line in stream:
        into.append(line)
        if SERVING.search(line):
            seen.set()


def test_a_worker_serves_its_counters(tmp_path: Path) -> None:
    (tmp_path / "diamond.yaml").write_text(json.dumps(diamond("crash.work")))
    lf(tmp_path, "apply", "diamond.yaml")
    proc = subprocess.Popen([str(LEDGERFLOW), "worker", "--agents", str(CRASH_AGENTS),
                             "--metrics-port", "0"], env=cli_env(tmp_path), cwd=tmp_path,
                            text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err: list[str] = []
    up = threading.Event()
    reader = threading.Thread(target=_read, args=(proc.stderr, err, up), daemon=True)
    reader.start()
    try:
        assert up.wait(60), "".join(err)
        url = next(m[1] for m in map(SERVING.search, err) if m)
        ids = [lf(tmp_path, "start", "diamond", "--input", '{"mode": "full"}').stdout.strip()
               for _ in range(2)]
        wait_for(lambda: all(lf_json(tmp_path, "status", i)["status"] == "completed"
                             for i in ids), what="both executions completed")
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in text_string_to_metric_families(httpx.get(url).text)
                   for s in f.samples}
        assert samples[("ledgerflow_executions_finished_total",
                        (("status", "completed"), ("workflow", "diamond")))] == 2
        assert samples[("ledgerflow_ledger_entries_total",
                        (("event_type", "step.completed"),))] == 8
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        reader.join(10)
        proc.stderr.close()
