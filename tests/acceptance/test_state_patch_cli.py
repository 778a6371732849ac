"""``state patch`` as a user types it: inline JSON whenever it parses as JSON, ``@FILE`` or a
path for a file; a JSON object is a merge patch, an array needs ``--json-patch``, anything
else is refused in one line naming what was given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import run_cli

WAITS = "name: waits\nsteps:\n  - {id: w, type: wait, signal: go}\n"


@pytest.fixture
def paused(tmp_path: Path) -> tuple[Path, str, str]:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    (tmp_path / "waits.yaml").write_text(WAITS)
    run_cli(tmp_path, db, "apply", "waits.yaml")
    execution_id = run_cli(tmp_path, db, "start", "waits").stdout.strip()
    run_cli(tmp_path, db, "pause", execution_id)
    run_cli(tmp_path, db, "state", "set", execution_id, "case",
            '{"risk": "high", "owner": "ann"}')
    return tmp_path, db, execution_id


def _state(folder: Path, db: str, execution_id: str) -> Any:
    return json.loads(run_cli(folder, db, "state", execution_id, "--json").stdout)["state"]


def _refused(folder: Path, db: str, *args: str) -> str:
    proc = run_cli(folder, db, "state", "patch", *args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr.strip().splitlines()[-1]


def test_only_an_object_is_a_merge_patch(paused: tuple[Path, str, str]) -> None:
    folder, db, eid = paused
    before = _state(folder, db, eid)
    assert "PATCH is null; a merge patch is a JSON object" in _refused(folder, db, eid, "null")
    assert "PATCH is 3; a merge patch is a JSON object" in _refused(folder, db, eid, "3")
    assert "an RFC 6902 array of operations needs --json-patch" in _refused(
        folder, db, eid, '[{"op": "remove", "path": "/case"}]')
    assert _state(folder, db, eid) == before
    run_cli(folder, db, "state", "patch", eid, '{"case": {"risk": null}}')
    assert _state(folder, db, eid) == {"case": {"owner": "ann"}}


def test_a_json_patch_is_asked_for(paused: tuple[Path, str, str]) -> None:
    folder, db, eid = paused
    assert "a JSON Patch (--json-patch) is an array of operations" in _refused(
        folder, db, eid, "--json-patch", '{"case": null}')
    run_cli(folder, db, "state", "patch", eid, "--json-patch",
            '[{"op": "replace", "path": "/case/risk", "value": "low"}]')
    assert _state(folder, db, eid) == {"case": {"risk": "low", "owner": "ann"}}
    history = json.loads(run_cli(folder, db, "history", eid, "--json").stdout)
    assert [e["event_type"] for e in history][-1] == "state.edited"


def test_files_by_path_or_at_sign(paused: tuple[Path, str, str]) -> None:
    folder, db, eid = paused
    (folder / "patch.json").write_text('{"case": {"score": 3}}')
    (folder / "null").write_text('{"case": {"risk": "medium"}}')
    run_cli(folder, db, "state", "patch", eid, "patch.json")
    assert _state(folder, db, eid)["case"]["score"] == 3
    run_cli(folder, db, "state", "patch", eid, "@null")  # @ always reads a file
    assert _state(folder, db, eid)["case"]["risk"] == "medium"
    assert "'nope.json' is neither JSON (Expecting value at column 1) nor an existing file" \
        in _refused(folder, db, eid, "nope.json")
    (folder / "list.json").write_text("[]")
    assert "file list.json is []; a merge patch is a JSON object" in _refused(
        folder, db, eid, "list.json")
