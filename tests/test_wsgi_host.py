"""examples/wsgi_host (issue 18.3): a standard-library WSGI host maps its own login to the crmkit
actor and serves leads and a customer's detail — called in-process, on memory and SQLite."""

from __future__ import annotations

import base64
import importlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest

from crmkit import CRM
from crmkit.adapters.sqlalchemy import SqlStorage

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "wsgi_host"


@pytest.fixture(scope="module")
def host() -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(EXAMPLE))
        yield importlib.import_module("wsgi_app")


class Client:
    """Calls the WSGI application as a server would, one request at a time."""

    def __init__(self, app: Any) -> None:
        self.app, self.login = app, ("", "")

    def sign_in(self, username: str, password: str = "secret") -> None:
        self.login = (username, password)

    def call(self, method: str, path: str, body: object = None, *, raw: bytes | None = None,
             query: str = "", environ: dict[str, str] | None = None
             ) -> tuple[int, dict[str, str], Any]:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        request: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path,
                                   "QUERY_STRING": query, "CONTENT_LENGTH": str(len(data)),
                                   "wsgi.input": io.BytesIO(data), **(environ or {})}
        if self.login[0]:
            token = base64.b64encode(":".join(self.login).encode()).decode()
            request["HTTP_AUTHORIZATION"] = f"Basic {token}"
        setup_testing_defaults(request)
        replied: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            replied["status"], replied["headers"] = int(status.split()[0]), dict(headers)

        payload = b"".join(self.app(request, start_response))
        assert replied["headers"]["Content-Length"] == str(len(payload))
        return replied["status"], replied["headers"], json.loads(payload)


@pytest.fixture(params=["memory", "sqlite"])
def site(request: pytest.FixtureRequest, host: ModuleType,
         tmp_path: Path) -> Iterator[tuple[Client, CRM, dict[str, str]]]:
    storage = None
    if request.param == "sqlite":
        storage = SqlStorage(f"sqlite:///{tmp_path / 'host.db'}")
        storage.create_schema()
    crm = CRM(storage)
    accounts = host.Accounts(iterations=1_000)  # a cheap hash: the rules are the same
    people: dict[str, str] = host.seed(crm, accounts)
    yield Client(host.App(crm, accounts)), crm, people
    if storage is not None:
        storage.engine.dispose()


def test_every_endpoint_needs_a_host_login_and_crmkit_never_sees_the_password(site: Any) -> None:
    client, _, _ = site
    status, headers, _ = client.call("GET", "/leads")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    for username, password in [("zhang", "wrong"), ("nobody", "secret"), ("zhang", "")]:
        client.sign_in(username, password)
        assert client.call("GET", "/leads")[0] == 401
    client.sign_in("zhang")
    assert client.call("GET", "/leads")[0] == 200


def test_a_rep_s_lead_is_theirs_and_outside_another_rep_s_scope(site: Any) -> None:
    client, _, people = site
    client.sign_in("zhang")
    status, _, lead = client.call("POST", "/leads", {"name": "星河科技", "contact_name": "陈总"})
    assert status == 201 and lead["owner_id"] == people["zhang"]
    assert [item["name"] for item in client.call("GET", "/leads")[2]["items"]] == ["星河科技"]
    client.sign_in("li")                                    # 销售员: his own leads only
    assert client.call("GET", "/leads")[2]["items"] == []
    client.sign_in("manager")                               # 销售经理: his department's
    assert [item["id"] for item in client.call("GET", "/leads")[2]["items"]] == [lead["id"]]


def test_bad_input_is_answered_with_paths_and_codes_and_writes_nothing(site: Any) -> None:
    client, crm, people = site
    client.sign_in("zhang")
    status, _, refused = client.call("POST", "/leads", {"name": "", "mobile": "12345"})
    assert status == 422 and refused["code"] == "validation_failed"
    assert {e["path"]: e["code"] for e in refused["errors"]} == {
        "$.name": "required", "$.mobile": "format.mobile"}
    assert refused["errors"][0]["message_zh"] and refused["errors"][0]["message_en"]
    assert client.call("POST", "/leads", {"name": "甲", "owner_id": people["li"]})[0] == 422
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe", b"[" * 30_000, b'{"a":' * 12_000):
        assert client.call("POST", "/leads", raw=raw)[0] == 400
    for limit in ("abc", "%C2%B2", "%D9%A3"):  # ² and Arabic-Indic 3: isdigit(), not ASCII
        assert client.call("GET", "/leads", query=f"limit={limit}")[0] == 422
    assert client.call("POST", "/leads", {"name": "乙"}, environ={"CONTENT_LENGTH": "-1"}
                       )[0] == 400
    assert client.call("POST", "/leads", raw=b"{}" + b" " * 70_000)[0] == 413
    assert crm.leads.list(people["boss"]).items == ()


def test_pages_follow_the_cursor(site: Any) -> None:
    client, _, _ = site
    client.sign_in("zhang")
    for name in ("甲公司", "乙公司", "丙公司"):
        client.call("POST", "/leads", {"name": name})
    first = client.call("GET", "/leads", query="limit=2")[2]
    query = urlencode({"cursor": first["next_cursor"], "limit": 2})
    rest = client.call("GET", "/leads", query=query)[2]
    names = [item["name"] for item in first["items"] + rest["items"]]
    assert sorted(names) == ["丙公司", "乙公司", "甲公司"] and rest["next_cursor"] is None


def test_customer_detail_is_cut_to_the_viewer_and_hidden_is_not_there(site: Any) -> None:
    client, _, people = site
    client.sign_in("zhang")
    lead = client.call("POST", "/leads", {"name": "星河科技", "contact_name": "陈总"})[2]
    status, _, converted = client.call("POST", f"/leads/{lead['id']}/convert")
    assert status == 200
    status, _, detail = client.call("GET", f"/customers/{converted['customer_id']}")
    assert status == 200 and detail["customer"]["owner_id"] == people["zhang"]
    assert [contact["name"] for contact in detail["contacts"]] == ["陈总"]

    client.sign_in("li")                 # not his: exactly the answer for an id that is not there
    hidden = client.call("GET", f"/customers/{converted['customer_id']}")
    missing = client.call("GET", "/customers/no-such-customer")
    assert hidden[0] == missing[0] == 404
    assert hidden[2]["code"] == missing[2]["code"] == "record.not_found"
    assert client.call("POST", f"/leads/{lead['id']}/convert")[0] == 404


def test_a_disabled_crmkit_user_is_refused_though_the_host_login_is_valid(site: Any) -> None:
    client, crm, people = site
    crm.org.disable_user(people["boss"], people["zhang"])
    client.sign_in("zhang")
    status, _, refused = client.call("GET", "/leads")
    assert status == 403 and refused["code"] == "auth.inactive_user"


def test_unknown_paths_and_methods(site: Any) -> None:
    client, _, _ = site
    client.sign_in("zhang")
    assert client.call("GET", "/nowhere")[0] == 404
    assert client.call("DELETE", "/leads")[0] == 405
    assert client.call("GET", "/leads/x/convert")[0] == 405
