"""examples/flask_host (issue 12.11): a Flask host maps its login to a crmkit actor and serves
the customer list, the 公海 release and claim, and approvals of its own records (rows in its own
table). Skipped when Flask is not installed (it is in the ``test`` extra)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from crmkit import CRM
from crmkit.adapters.sqlalchemy import SqlStorage

pytest.importorskip("flask")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "flask_host"


@pytest.fixture(scope="module")
def host() -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(EXAMPLE))
        yield importlib.import_module("app")


@pytest.fixture
def site(host: ModuleType, tmp_path: Path) -> Iterator[tuple[Any, dict[str, str], Any]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    storage = SqlStorage(engine)
    storage.create_schema()
    crm = CRM(storage)
    people = host.seed(crm, engine)
    app = host.create_app(crm, engine, "test-secret")
    yield app.test_client(), people, engine
    engine.dispose()


def login(client: Any, username: str) -> None:
    reply = client.post("/login", json={"username": username, "password": "secret"})
    assert reply.status_code == 200, reply.json


def test_the_login_is_the_host_s_and_maps_to_a_crmkit_actor(site: Any) -> None:
    client, people, _ = site
    assert client.get("/customers").status_code == 401
    assert client.post("/login", json={"username": "zhang", "password": "nope"}
                       ).status_code == 401
    login(client, "zhang")
    made = client.post("/customers", json={"name": "甲公司"})
    assert made.status_code == 201 and made.json["owner_id"] == people["zhang"]
    assert [c["name"] for c in client.get("/customers").json["items"]] == ["甲公司"]
    login(client, "li")
    assert client.get("/customers").json["items"] == []           # 销售员: own records only
    refused = client.post("/customers", json={"name": ""})
    assert refused.status_code == 422 and refused.json["errors"][0]["path"] == "$.name"


def test_release_and_claim_through_the_host(site: Any) -> None:
    client, people, _ = site
    login(client, "zhang")
    customer = client.post("/customers", json={"name": "乙公司"}).json
    released = client.post(f"/customers/{customer['id']}/release")
    assert released.status_code == 200 and released.json["pool_id"] == people["pool"]
    login(client, "li")
    pooled = client.get(f"/pools/{people['pool']}/customers").json["items"]
    assert [c["name"] for c in pooled] == ["乙公司"]
    taken = client.post(f"/customers/{customer['id']}/claim")
    assert taken.status_code == 200 and taken.json["owner_id"] == people["li"]
    login(client, "zhang")
    again = client.post(f"/customers/{customer['id']}/claim")
    assert again.status_code == 404 and again.json["code"] == "record.not_found"


def test_a_discount_request_is_the_host_s_row_approved_through_crmkit(
        site: Any, host: ModuleType) -> None:
    client, _, engine = site
    login(client, "li")
    customer = client.post("/customers", json={"name": "丙公司"}).json
    asked = client.post(f"/customers/{customer['id']}/discounts", json={"percent": 15})
    assert asked.status_code == 201 and asked.json["status"] == "pending"
    assert client.get(f"/discounts/{asked.json['id']}").json["status"] == "pending"
    refused = client.post(f"/customers/{customer['id']}/discounts", data='{"percent": 1e999}',
                          content_type="application/json")  # infinity: crmkit refuses it
    assert refused.status_code == 422, refused.json
    with engine.connect() as conn:  # one transaction: the host's row went with the refusal
        assert conn.execute(select(func.count()).select_from(host.discounts)).scalar() == 1
    small = client.post(f"/customers/{customer['id']}/discounts", json={"percent": 5})
    assert small.json["status"] == "approved"                      # 10 % or less: no step

    login(client, "manager")
    [waiting] = client.get("/approvals/waiting").json
    assert waiting["record_id"] == str(asked.json["id"])
    done = client.post(f"/approvals/discount/{asked.json['id']}/approve", json={"comment": "好"})
    assert done.status_code == 200 and done.json["status"] == "approved"
    assert client.get(f"/discounts/{asked.json['id']}").json["status"] == "approved"

    login(client, "zhang")  # not his customer: not there
    assert client.post(f"/customers/{customer['id']}/discounts",
                       json={"percent": 5}).status_code == 404
