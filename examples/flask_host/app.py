"""A Flask host for crmkit: the host authenticates people, crmkit decides what they may do.

- The host owns logins (``host_accounts``: user name, password hash, and the crmkit user id the
  account acts as). ``POST /login`` checks the password and keeps the account in the session;
  every other request maps it to the crmkit actor (``g.actor``) — crmkit never sees a password.
- ``GET /customers``, ``POST /customers``, ``GET /pools/<id>/customers``,
  ``POST /customers/<id>/claim``: crmkit's scoped lists and the 公海 claim.
- ``POST /customers/<id>/discounts``: a discount request stored in the host's own table
  (``host_discounts``) and sent through crmkit's approval engine as the host kind
  ``discount``; ``GET /approvals/waiting`` and ``POST /approvals/<kind>/<id>/approve``;
  ``GET /discounts/<id>`` reads the host's row with crmkit's approval status.
- One transaction per request: the views run in ``engine.begin()`` with ``crm.join(conn)``, so
  the host's rows and crmkit's commit together or not at all — a discount request crmkit
  refuses leaves no orphan row in ``host_discounts``.
- crmkit errors become JSON with their stable code and zh/en messages: 422 validation, 403
  permission, 404 not found, 409 conflict or rule.

Run ``python app.py`` for a development server on a seeded SQLite database.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, g, jsonify, request, session
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
)
from werkzeug.security import check_password_hash, generate_password_hash

from crmkit import CRM, Conflict, CrmError, NotFound, PermissionDenied, ValidationError
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.serialization import to_dict

host_metadata = MetaData()
accounts = Table(
    "host_accounts", host_metadata,
    Column("username", String(50), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("crm_user_id", String(64), nullable=False),
)
discounts = Table(
    "host_discounts", host_metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("percent", Integer, nullable=False),
)

STATUS = {ValidationError: 422, PermissionDenied: 403, NotFound: 404, Conflict: 409}


def create_app(crm: CRM, engine: Engine, secret_key: str) -> Flask:
    """The host application over a CRM and the host's own engine (same database)."""
    app = Flask(__name__)
    app.secret_key = secret_key
    host_metadata.create_all(engine)
    register_discount_kind(crm)

    def atomic(view: Callable[..., Any]) -> Callable[..., Any]:
        """Run the view in one host transaction that crmkit joins (``g.conn``)."""

        @functools.wraps(view)
        def in_transaction(*args: Any, **kwargs: Any) -> Any:
            with engine.begin() as conn, crm.join(conn):
                g.conn = conn
                return view(*args, **kwargs)

        return in_transaction

    @app.errorhandler(CrmError)
    def crm_error(error: CrmError) -> Any:
        status = next((s for kind, s in STATUS.items() if isinstance(error, kind)), 409)
        return jsonify(error.as_dict()), status

    @app.before_request
    def actor() -> Any:
        """Map the logged-in account to its crmkit actor; everything but /login needs one."""
        g.actor = session.get("crm_user_id")
        if g.actor is None and request.endpoint != "login":
            return jsonify({"error": "login required"}), 401
        return None

    @app.post("/login")
    def login() -> Any:
        body = request.get_json(force=True)
        with engine.connect() as conn:
            account = conn.execute(select(accounts).where(
                accounts.c.username == body.get("username"))).first()
        if account is None or not check_password_hash(account.password_hash,
                                                      str(body.get("password", ""))):
            return jsonify({"error": "wrong user name or password"}), 401
        session["crm_user_id"] = account.crm_user_id
        return jsonify({"crm_user_id": account.crm_user_id})

    @app.post("/logout")
    def logout() -> Any:
        session.clear()
        return jsonify({})

    @app.get("/customers")
    def customers() -> Any:
        page = crm.customers.list(g.actor, {"scene": request.args.get("scene"),
                                            "cursor": request.args.get("cursor")})
        return jsonify({"items": [to_dict(c) for c in page.items],
                        "next_cursor": page.next_cursor})

    @app.post("/customers")
    def create_customer() -> Any:
        return jsonify(to_dict(crm.customers.create(g.actor, request.get_json(force=True)))), 201

    @app.get("/pools/<pool_id>/customers")
    def pool_customers(pool_id: str) -> Any:
        page = crm.pool.customers(g.actor, pool_id)
        return jsonify({"items": [to_dict(c) for c in page.items]})

    @app.post("/customers/<customer_id>/release")
    def release(customer_id: str) -> Any:
        [released] = crm.pool.release(g.actor, [customer_id])
        return jsonify(to_dict(released))

    @app.post("/customers/<customer_id>/claim")
    def claim(customer_id: str) -> Any:
        [taken] = crm.pool.claim(g.actor, [customer_id])
        return jsonify(to_dict(taken))

    @app.post("/customers/<customer_id>/discounts")
    @atomic
    def request_discount(customer_id: str) -> Any:
        """The host's own row and crmkit's approval: the customer must be the actor's to see."""
        percent = request.get_json(force=True).get("percent")
        crm.customers.get(g.actor, customer_id)  # NotFound outside the actor's scope
        row_id = g.conn.execute(insert(discounts).values(
            customer_id=customer_id, percent=percent)).inserted_primary_key[0]
        approval = crm.approvals.submit(g.actor, "discount", str(row_id),
                                        values={"percent": percent})
        return jsonify({"id": row_id, "status": approval.instance.status.value}), 201

    @app.get("/approvals/waiting")
    def waiting() -> Any:
        return jsonify([to_dict(a) for a in crm.approvals.waiting(g.actor)])

    @app.post("/approvals/<kind>/<record_id>/approve")
    def approve(kind: str, record_id: str) -> Any:
        comment = (request.get_json(silent=True) or {}).get("comment", "")
        approval = crm.approvals.approve(g.actor, kind, record_id, comment)
        return jsonify({"status": approval.instance.status.value})

    @app.get("/discounts/<int:discount_id>")
    def discount(discount_id: int) -> Any:
        with engine.connect() as conn:
            row = conn.execute(select(discounts).where(discounts.c.id == discount_id)).first()
        if row is None:
            return jsonify({"error": "not found"}), 404
        approval = crm.approvals.instance(g.actor, "discount", str(discount_id))
        return jsonify({**row._mapping, "status": approval.status.value if approval else None})

    return app


def register_discount_kind(crm: CRM) -> None:
    """折扣申请: the host's own record kind (rows in ``host_discounts``); crmkit keeps its
    approval and decides who approves it."""
    if "discount" not in crm.approvals.kinds:
        crm.approvals.register_kind("discount", label_zh="折扣申请", label_en="discount",
                                    fields=["percent"])


def add_account(engine: Engine, username: str, password: str, crm_user_id: str) -> None:
    host_metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(accounts).values(username=username, crm_user_id=crm_user_id,
                                             password_hash=generate_password_hash(password)))


def seed(crm: CRM, engine: Engine) -> dict[str, str]:
    """A demo organisation: boss, a manager and two reps, a pool, a discount flow (over 10 %
    goes to the rep's supervisor), and host accounts for each (password ``secret``)."""
    boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(boss)[0]
    roles = {r.code: r.id for r in crm.org.list_roles(boss) if r.code}
    sales = crm.org.add_department(boss, {"name": "销售部", "parent_id": top.id})
    manager = crm.org.add_user(boss, {"mobile": "13900000001", "name": "李经理",
                                      "department_id": sales.id,
                                      "role_ids": [roles["sales_manager"]]})
    reps = [crm.org.add_user(boss, {"mobile": f"1390000001{i}", "name": name,
                                    "department_id": sales.id, "supervisor_id": manager.id,
                                    "role_ids": [roles["sales_rep"]]})
            for i, name in enumerate(["张三", "李四"])]
    pool = crm.pool.create_pool(boss, {"name": "销售公海", "admin_ids": [manager.id],
                                       "member_department_ids": [sales.id]})
    register_discount_kind(crm)
    crm.approvals.define_flow(boss, {
        "kind": "discount", "name": "折扣审批", "start": "big",
        "nodes": [
            {"type": "condition", "id": "big", "branches": [
                {"conditions": [{"op": ">", "field": "percent", "value": 10}],
                 "next": "lead"}]},
            {"type": "approver", "id": "lead", "source": "supervisor"},
        ],
    })
    people = {"boss": boss.id, "manager": manager.id, "zhang": reps[0].id, "li": reps[1].id}
    for username, user_id in people.items():
        add_account(engine, username, "secret", user_id)
    return {**people, "pool": pool.id}


if __name__ == "__main__":  # a development server on a fresh demo database
    from pathlib import Path

    fresh = not Path("flask_host.db").exists()
    storage = SqlStorage("sqlite:///flask_host.db")
    storage.create_schema()
    host_engine = create_engine("sqlite:///flask_host.db")
    demo = CRM(storage)
    if fresh:
        print(seed(demo, host_engine))
    create_app(demo, host_engine, "dev").run(debug=True)
