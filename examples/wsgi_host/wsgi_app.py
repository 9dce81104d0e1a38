"""A host with nothing but the standard library: a WSGI application over crmkit.

- The host owns its logins: :class:`Accounts` keeps user name → (salted PBKDF2 hash, the crmkit
  user id the account acts as). Each request signs in with HTTP Basic; the host checks the
  password and hands crmkit only the mapped user id — the **actor** of every call. crmkit never
  sees a password, and re-reads the user and their roles on each call (a disabled user → 403).
- ``GET /leads`` — the actor's leads, data scope applied (``?limit=``, ``?cursor=`` for the next
  page); ``POST /leads`` — create one from a JSON body; ``POST /leads/<id>/convert`` — convert
  it into a customer (and a contact); ``GET /customers/<id>`` — the customer's detail, cut to
  what the actor may see.
- crmkit's errors become JSON with their stable code and zh/en messages (422 validation, 403
  permission, 404 not found — also for a record outside the actor's scope —, 409 conflict or
  rule); a body that is not a JSON object is 400.

Run ``python wsgi_app.py`` for a development server (``wsgiref.simple_server``) on a freshly
seeded SQLite file; accounts ``boss``, ``manager``, ``zhang`` and ``li``, password ``secret``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import make_server

from crmkit import CRM, Conflict, CrmError, NotFound, PermissionDenied, ValidationError, build_crm
from crmkit.serialization import to_dict

Environ = dict[str, Any]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Reply = tuple[int, Any]

STATUS_OF_ERROR = {ValidationError: 422, PermissionDenied: 403, NotFound: 404, Conflict: 409}
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
           413: "Content Too Large", 422: "Unprocessable Content"}
MAX_BODY = 64 * 1024
ITERATIONS = 600_000  # OWASP's figure for PBKDF2-SHA256


class Accounts:
    """The host's own logins: user name → salted PBKDF2-SHA256 hash and the crmkit user id.
    ``iterations`` is the hash's cost (tests lower it)."""

    def __init__(self, iterations: int = ITERATIONS) -> None:
        self._rows: dict[str, tuple[bytes, bytes, str]] = {}
        self.iterations = iterations

    def add(self, username: str, password: str, crm_user_id: str) -> None:
        salt = os.urandom(16)
        self._rows[username] = (salt, self._hash(password, salt), crm_user_id)

    def actor(self, username: str, password: str) -> str | None:
        """The crmkit user id of this login, or None when the name or password is wrong."""
        salt, stored, crm_user_id = self._rows.get(username, (b"-", b"", ""))
        matches = hmac.compare_digest(self._hash(password, salt), stored)  # same work if unknown
        return crm_user_id if matches and crm_user_id else None

    def _hash(self, password: str, salt: bytes) -> bytes:
        return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, self.iterations)


class BadRequest(Exception):
    """The request itself is malformed (not crmkit's business): 400 or 413."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class App:
    """The WSGI application: routes ``(method, path)`` to a handler that gets the actor."""

    def __init__(self, crm: CRM, accounts: Accounts) -> None:
        self.crm, self.accounts = crm, accounts
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("GET", re.compile(r"/leads"), self.list_leads),
            ("POST", re.compile(r"/leads"), self.create_lead),
            ("POST", re.compile(r"/leads/(?P<lead_id>[^/]+)/convert"), self.convert_lead),
            ("GET", re.compile(r"/customers/(?P<customer_id>[^/]+)"), self.customer_detail),
        ]

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        status, body = self.handle(environ)
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = [("Content-Type", "application/json; charset=utf-8"),
                   ("Content-Length", str(len(payload)))]
        if status == 401:
            headers.append(("WWW-Authenticate", 'Basic realm="crm", charset="UTF-8"'))
        start_response(f"{status} {REASONS[status]}", headers)
        return [payload]

    def handle(self, environ: Environ) -> Reply:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/"
        matched = [(m, pattern.fullmatch(path), handler) for m, pattern, handler in self.routes]
        found = [(m, match, handler) for m, match, handler in matched if match]
        if not found:
            return 404, {"error": "no such endpoint"}
        route = next(((match, handler) for m, match, handler in found if m == method), None)
        if route is None:
            return 405, {"error": f"{method} is not allowed here"}
        actor = self.signed_in(environ)
        if actor is None:
            return 401, {"error": "sign in (HTTP Basic) with a host account"}
        match, handler = route
        try:
            return handler(actor, environ, **match.groupdict())
        except BadRequest as bad:
            return bad.status, {"error": str(bad)}
        except CrmError as error:
            status = next((s for kind, s in STATUS_OF_ERROR.items() if isinstance(error, kind)),
                          409)
            return status, error.as_dict()

    def signed_in(self, environ: Environ) -> str | None:
        """The crmkit actor of the request's login, or None."""
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except ValueError:  # not base64, or not UTF-8
            return None
        return self.accounts.actor(username, password)

    # -- endpoints: each is one crmkit call with the actor first ----------------------------

    def list_leads(self, actor: str, environ: Environ) -> Reply:
        query = {key: values[-1] for key, values in
                 parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        request: dict[str, Any] = {"cursor": query.get("cursor") or None}
        if query.get("limit"):
            limit = query["limit"]  # ASCII digits only: "²".isdigit() holds, int() refuses it
            request["limit"] = int(limit) if limit.isascii() and limit.isdigit() else limit
        page = self.crm.leads.list(actor, request)
        return 200, {"items": [to_dict(lead) for lead in page.items],
                     "next_cursor": page.next_cursor}

    def create_lead(self, actor: str, environ: Environ) -> Reply:
        return 201, to_dict(self.crm.leads.create(actor, json_body(environ)))

    def convert_lead(self, actor: str, environ: Environ, lead_id: str) -> Reply:
        [converted] = self.crm.leads.convert(actor, [lead_id])
        return 200, to_dict(converted)

    def customer_detail(self, actor: str, environ: Environ, customer_id: str) -> Reply:
        return 200, to_dict(self.crm.customers.detail(actor, customer_id))


def json_body(environ: Environ) -> dict[str, Any]:
    """The request body as a JSON object (crmkit checks what is inside it)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if length < 0:
        raise BadRequest(400, "Content-Length is not a number of bytes")
    if length > MAX_BODY:
        raise BadRequest(413, f"the body may hold at most {MAX_BODY} bytes")
    try:
        body = json.loads(environ["wsgi.input"].read(length) or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # [[[… nested too deep
        raise BadRequest(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest(400, "the body must be a JSON object")
    return body


def seed(crm: CRM, accounts: Accounts, password: str = "secret") -> dict[str, str]:
    """A small sales team — 王总 (administrator), 李经理 (销售经理) and two 销售员 under him —
    each with a host account of the same password; returns user name → crmkit user id."""
    boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(boss)[0]
    roles = {r.code: r.id for r in crm.org.list_roles(boss) if r.code}
    sales = crm.org.add_department(boss, {"name": "销售部", "parent_id": top.id})
    manager = crm.org.add_user(boss, {"mobile": "13900000001", "name": "李经理",
                                      "department_id": sales.id, "supervisor_id": boss.id,
                                      "role_ids": [roles["sales_manager"]]})
    people = {"boss": boss.id, "manager": manager.id}
    for number, (login, name) in enumerate([("zhang", "张三"), ("li", "李四")]):
        people[login] = crm.org.add_user(boss, {
            "mobile": f"1390000001{number}", "name": name, "department_id": sales.id,
            "supervisor_id": manager.id, "role_ids": [roles["sales_rep"]]}).id
    for login, crm_user_id in people.items():
        accounts.add(login, password, crm_user_id)
    return people


def main() -> None:  # pragma: no cover - a development server
    """Serve on http://127.0.0.1:8000 over a fresh ``wsgi_host.db`` (the accounts live in
    memory, so each start seeds the team again)."""
    if os.path.exists("wsgi_host.db"):
        os.remove("wsgi_host.db")
    crm, accounts = build_crm("sqlite:///wsgi_host.db"), Accounts()
    seed(crm, accounts)
    with make_server("127.0.0.1", 8000, App(crm, accounts)) as server:
        print("http://127.0.0.1:8000/leads — sign in as zhang / secret")
        server.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
