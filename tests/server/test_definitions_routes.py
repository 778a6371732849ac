"""Definitions over HTTP: apply a YAML or JSON body (201 new, 200 same content, 422 with
every problem and its path), validate without storing, list, read one version."""

from __future__ import annotations

import json

import yaml

from tests.server.conftest import Served

API = "/api/v1/definitions"
FLOW = {"name": "flow", "steps": [{"id": "a", "agent": "t.echo"}]}
YAML = {"Content-Type": "application/yaml"}
JSON = {"Content-Type": "application/json"}
BROKEN = "name: x\nsteps:\n  - id: a\n    agent: 3\n  - id: a\n    needs: [zzz]\n"


def test_a_yaml_body_is_applied_once_then_found_unchanged(served: Served) -> None:
    admin = served.headers("admin")
    first = served.client.post(API, content=yaml.safe_dump(FLOW), headers=admin | YAML)
    assert first.status_code == 201, first.text
    assert (first.json()["name"], first.json()["version"], first.json()["created"]) == (
        "flow", 1, True)
    again = served.client.post(API, content=json.dumps(FLOW), headers=admin | JSON)
    assert again.status_code == 200 and again.json()["created"] is False
    changed = dict(FLOW, description="v2")
    second = served.client.post(API, json=changed, headers=admin)
    assert second.status_code == 201 and second.json()["version"] == 2


def test_every_problem_is_listed_with_its_path(served: Served) -> None:
    r = served.client.post(API, content=BROKEN, headers=served.headers("admin") | YAML)
    assert r.status_code == 422
    assert r.json()["code"] == "invalid-definition"
    paths = {e["path"] for e in r.json()["errors"]}
    assert paths == {"steps[0].agent", "steps[1].id", "steps[1].agent", "steps[1].needs[0]"}
    assert served.engine.workflows() == []


def test_validate_stores_nothing_and_lists_every_problem(served: Served) -> None:
    viewer = served.headers("viewer")
    bad = served.client.post(f"{API}/validate", content=BROKEN, headers=viewer | YAML)
    assert bad.status_code == 200 and bad.json()["valid"] is False
    assert len(bad.json()["errors"]) == 4
    good = served.client.post(f"{API}/validate", json=FLOW, headers=viewer)
    assert good.json() == {"valid": True, "errors": []}
    assert served.engine.workflows() == []


def test_a_body_that_does_not_parse_or_of_another_type_is_refused(served: Served) -> None:
    admin = served.headers("admin")
    r = served.client.post(API, content="name: [unclosed", headers=admin | YAML)
    assert r.status_code == 422 and r.json()["code"] == "invalid-definition"
    r = served.client.post(API, content="name=x", headers=admin | {
        "Content-Type": "text/plain"})
    assert r.status_code == 415


def test_list_and_one_version_in_json_or_yaml_with_its_etag(served: Served) -> None:
    served.engine.apply(FLOW)
    served.engine.apply(dict(FLOW, description="v2"))
    viewer = served.headers("viewer")
    listed = served.client.get(API, headers=viewer).json()["items"]
    assert [(d["name"], d["version"]) for d in listed] == [("flow", 2)]
    one = served.client.get(f"{API}/flow/versions/1", headers=viewer)
    assert one.status_code == 200 and one.json()["spec"]["name"] == "flow"
    assert one.headers["etag"] == f'"{one.json()["sha256"]}"'
    latest = served.client.get(f"{API}/flow/versions/latest",
                               headers=viewer | {"Accept": "application/yaml"})
    assert latest.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(latest.text)["description"] == "v2"
    assert served.client.get(f"{API}/flow/versions/3", headers=viewer).status_code == 404
    assert served.client.get(f"{API}/flow/versions/x", headers=viewer).status_code == 422


def test_another_tenants_definition_is_404_like_a_missing_one(served: Served) -> None:
    served.engine.apply(FLOW)
    acme = served.headers("admin", "acme")
    theirs = served.client.get(f"{API}/flow/versions/latest", headers=acme)
    missing = served.client.get(f"{API}/nope/versions/latest", headers=acme)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["code"] == missing.json()["code"] == "not-found"
    assert served.client.get(API, headers=acme).json()["items"] == []


def test_a_viewer_may_not_apply_and_a_system_token_reads_none(served: Served) -> None:
    r = served.client.post(API, json=FLOW, headers=served.headers("viewer"))
    assert r.status_code == 403
    system = served.headers("system", None)
    assert served.client.get(API, headers=system).status_code == 403
