"""Stateful hypothesis test of contracts, payments and their approvals through the facade.

A small org (王总 B on top; 李经理 M over the reps R1 and R2; finance F1 over F2; X, a disabled
finance user who is R2's direct supervisor and the only holder of the 法务 role) gets random
approval flows for contracts and payments: a condition node on the amount or the submitter,
then chains of approver nodes of every source and mode (members 依次/会签/或签, supervisor
with and without fallback, role, 审批人自选, 连续多级主管), AUTO_PASS or ADMIN for nodes without
approvers, resubmission from the first node or the rejecting one, flows switched off, replaced
or missing. Random users then create (numbers typed by hand now and then), submit, approve,
reject, withdraw, resubmit, edit, transfer, read, void and delete contracts and payments, add
and void payment plans, and let days pass.

A model written from the module docs predicts the outcome of every call: success (then the
approval snapshot, history, status, notifications and numbers it must produce) or the exact
refusal (error class and code). A refused call must change nothing at all (records, approval
instances with their versions, plans, flows, notifications, operation logs).

Invariants after every step, from the stored state (and checked against the model): a record
is 通过 only if every step of its instance is complete (会签 all, 或签 one, 依次 all in order);
every approval or rejection was made by someone the step was waiting for at that moment; the
record's approval_status is its instance's status; payments that are not void sit only on
effective contracts; received = the sum of the effective payments, unreceived = amount −
received; the customer of an effective contract is 已成交; numbers are unique and follow the
number rule day by day (skipping numbers typed by hand); 待我审批 and 我提交的 list exactly the
approvals waiting for / submitted by each user; every approval action is on the record's
operation log; plans show what their effective payments brought in.

Runs on memory and on SQLite in memory (fewer examples); ``CRMKIT_STATEFUL_EXAMPLES=n`` sets
the example count of both for a longer hunt.
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.entities import RecordScope
from crmkit.entities.approvals import ApprovalInstance, ApprovalMode, ApprovalStatus
from crmkit.entities.approvals import ApproverSource as Src
from crmkit.entities.query import RecordQuery
from crmkit.entities.sales import DEAL_WON
from crmkit.errors import CrmError, NotFound, PermissionDenied, RuleViolation, ValidationError
from crmkit.ports import Storage

S = ApprovalStatus
EFFECTIVE = {S.APPROVED, S.NOT_REQUIRED}
EDITABLE = {S.DRAFT, S.REJECTED, S.WITHDRAWN}
RUNNING = {S.PENDING, S.IN_REVIEW}
TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
PREFIX = {"contract": "HT", "payment": "HK"}

# -- the org (symbolic names; ids are looked up after setup) ---------------------------------------
# name: (department, roles, supervisor), created in this order (so ids sort in this order)
PEOPLE: dict[str, tuple[str, tuple[str, ...], str]] = {
    "M": ("sales", ("sales_manager",), "B"),
    "F1": ("finance", ("finance",), "B"),
    "F2": ("finance", ("finance",), "F1"),
    "X": ("finance", ("finance", "legal"), "B"),
    "R1": ("group", ("sales_rep",), "M"),
    "R2": ("group", ("sales_rep",), "X"),
}
ACTORS = ["B", *PEOPLE]
ACTIVE = [a for a in ACTORS if a != "X"]
DEPT_OF = {"B": "top", **{u: p[0] for u, p in PEOPLE.items()}}
ROLES_OF = {"B": ("super_admin",), **{u: p[1] for u, p in PEOPLE.items()}}
CHAIN = {"B": (), "M": ("B",), "F1": ("B",), "F2": ("F1", "B"), "X": ("B",),
         "R1": ("M", "B"), "R2": ("X", "B")}
SUBTREE = {"top": {"top", "sales", "group", "finance"}, "sales": {"sales", "group"},
           "group": {"group"}, "finance": {"finance"}}
ROLE_KEYS = ["finance", "sales_manager", "sales_rep", "legal"]
DEPT_KEYS = list(SUBTREE)
CUSTOMERS = {"CR1": "R1", "CR2": "R2", "CM": "M", "CB": "B"}   # customer → its owner (creator)
SEES_ALL = {"B", "F1", "F2"}          # contracts, payments and customers of everyone
VOIDERS = {"B", "M"}                  # the contracts/payments ``delete`` permission
PRICE = Decimal("1000")


def sees(actor: str, owner: str) -> bool:
    """Data scope of contracts, payments and customers in this org (owner-based)."""
    return actor in SEES_ALL or actor == owner or (actor == "M" and owner in {"M", "R1", "R2"})


def holders(role: str) -> list[str]:
    """Active holders of a role, in id (= creation) order."""
    return [u for u in ACTORS if role in ROLES_OF[u] and u != "X"]


def unique(names: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


# -- strategies: symbolic flows --------------------------------------------------------------------
MODES = [None, "sequential", "all", "any"]
APPROVER = st.one_of(
    st.tuples(st.just("members"), st.lists(st.sampled_from(ACTORS), min_size=1, max_size=3,
                                           unique=True), st.sampled_from(MODES)),
    st.tuples(st.just("supervisor"), st.integers(1, 3), st.booleans(), st.sampled_from(MODES)),
    st.tuples(st.just("role"), st.sampled_from(ROLE_KEYS), st.sampled_from([None, "all", "any"])),
    st.tuples(st.just("chooses"), st.sampled_from([None, "all", "any"])),
    st.tuples(st.just("chain"), st.integers(1, 3)),
)
THRESHOLDS = ["0", "1000", "5000", "20000", "100000"]
CONDITION = st.one_of(
    st.tuples(st.just("amount"), st.sampled_from(["=", ">", "<"]), st.sampled_from(THRESHOLDS),
              st.none()),
    st.tuples(st.just("amount"), st.just("between"), st.sampled_from(THRESHOLDS),
              st.sampled_from(THRESHOLDS)).map(
        lambda c: (*c[:2], *sorted(c[2:], key=Decimal))),
    st.tuples(st.just("user"), st.lists(st.sampled_from(ACTORS), min_size=1, max_size=3,
                                        unique=True)),
    st.tuples(st.just("role"), st.lists(st.sampled_from(ROLE_KEYS), min_size=1, max_size=2,
                                        unique=True)),
    st.tuples(st.just("dept"), st.lists(st.sampled_from(DEPT_KEYS), min_size=1, max_size=2,
                                        unique=True), st.booleans()),
)
CHAIN_ST = st.lists(APPROVER, max_size=3)
FLOW = st.fixed_dictionaries({
    "branches": st.lists(st.tuples(st.lists(CONDITION, min_size=1, max_size=2), CHAIN_ST,
                                   st.integers(0, 2)), max_size=3),
    "default": st.lists(APPROVER, min_size=1, max_size=3),
    "end": st.booleans(),
    "enabled": st.sampled_from([True, True, True, False]),
    "no_approver": st.sampled_from(["auto_pass", "auto_pass", "admin"]),
    "admins": st.sampled_from([["B"], ["X"], ["M", "X"], ["F1"]]),
    "resubmit": st.sampled_from(["first", "rejecting"]),
})
AMOUNTS = st.one_of(
    st.sampled_from(["0", "800", "1000", "4999.99", "5000", "5000.01", "20000", "100000",
                     "250000"]).map(Decimal),
    st.integers(1, 300_000).map(Decimal))
PAY_AMOUNTS = st.one_of(st.sampled_from(["0.01", "1", "999.99", "1000", "5000"]).map(Decimal),
                        st.integers(1, 100_000).map(Decimal))
COMMENTS = st.sampled_from(["", "  ", "同意", "同意", "付款条件需修改", "付款条件需修改"])
SOMEONE = st.sampled_from([*ACTIVE * 3, "X"])        # anyone, now and then the disabled X
INFORMED = st.sampled_from([True, True, True, False])


# -- the model -------------------------------------------------------------------------------------
@dataclass
class Step:
    node: str
    mode: str
    approvers: tuple[str, ...]
    approved: list[str] = field(default_factory=list)
    rejected: bool = False
    by_admin: bool = False

    def complete(self) -> bool:
        if self.rejected:
            return False
        if self.mode == "any":
            return bool(self.approved)
        return len(self.approved) == len(self.approvers)

    def waiting(self) -> tuple[str, ...]:
        if self.rejected or self.complete():
            return ()
        if self.mode == "sequential":
            return (self.approvers[len(self.approved)],)
        if self.mode == "all":
            return tuple(a for a in self.approvers if a not in self.approved)
        return self.approvers


@dataclass
class Inst:
    submitter: str
    status: ApprovalStatus
    steps: list[Step]
    history: list[tuple[str | None, str]]
    flow_id: str = ""
    resubmit_from: str = "first"
    passed: list[str] = field(default_factory=list)   # nodes auto-passed, every round
    current: int = 0
    version: int = 1

    def waiting(self) -> tuple[str, ...]:
        if self.status not in RUNNING or self.current >= len(self.steps):
            return ()
        return self.steps[self.current].waiting()

    def involved(self, user: str) -> bool:
        return user == self.submitter or any(user in s.approvers for s in self.steps)


@dataclass
class Plan:
    id: str
    period: int
    amount: Decimal
    voided: bool = False


@dataclass
class Rec:
    kind: str
    id: str
    owner: str
    amount: Decimal
    number: str
    customer: str
    contract: str | None = None      # payments: the contract's record id
    plan: str | None = None          # payments: the plan's id
    lines: bool = False              # contracts: amount comes from product lines
    inst: Inst | None = None
    plans: list[Plan] = field(default_factory=list)

    @property
    def status(self) -> ApprovalStatus:
        return self.inst.status if self.inst is not None else S.DRAFT


@dataclass
class FlowModel:
    spec: dict[str, Any]
    id: str
    version: int = 1

    @property
    def enabled(self) -> bool:
        return bool(self.spec["enabled"])


Refusal = tuple[type[CrmError], str]


class Refused(Exception):
    """The model predicts a refusal (error class, code)."""

    def __init__(self, error: type[CrmError], code: str) -> None:
        super().__init__(error.__name__, code)
        self.expected: Refusal = (error, code)


def holds(cond: tuple[Any, ...], amount: Decimal, submitter: str) -> bool:
    kind = cond[0]
    if kind == "amount":
        op, value, upper = cond[1], Decimal(cond[2]), cond[3]
        if op == "=":
            return amount == value
        if op == ">":
            return amount > value
        if op == "<":
            return amount < value
        return value <= amount <= Decimal(upper)
    if kind == "user":
        return submitter in cond[1]
    if kind == "role":
        return bool(set(ROLES_OF[submitter]) & set(cond[1]))
    dept = DEPT_OF[submitter]
    if cond[2]:
        return any(dept in SUBTREE[d] for d in cond[1])
    return dept in cond[1]


def route(spec: dict[str, Any], amount: Decimal, submitter: str
          ) -> list[tuple[str, tuple[Any, ...]]]:
    """(node id, approver spec) of the approver nodes a submission passes."""
    prefix, chain = "dn", spec["default"]
    for i in sorted(range(len(spec["branches"])), key=lambda i: spec["branches"][i][2]):
        conditions, branch_chain, _ = spec["branches"][i]
        if all(holds(c, amount, submitter) for c in conditions):
            prefix, chain = f"b{i}n", branch_chain
            break
    return [(f"{prefix}{j}", node) for j, node in enumerate(chain)]


def resolve(node: tuple[Any, ...], node_id: str, submitter: str,
            chosen: dict[str, list[str]]) -> tuple[tuple[str, ...], str]:
    """(approvers, mode) of one approver node for this submitter."""
    source = node[0]
    if source == "members":
        return unique(u for u in node[1] if u != "X"), node[2] or "sequential"
    if source == "role":
        return tuple(holders(node[1])), node[2] or "any"
    if source == "chooses":
        return unique(chosen[node_id]), node[1] or "any"
    chain = CHAIN[submitter]
    if source == "chain":
        return tuple(u for u in chain[: node[1]] if u != "X"), "sequential"
    level, fallback = node[1], node[2]
    if len(chain) >= level and chain[level - 1] != "X":
        return (chain[level - 1],), "any"
    if not fallback:
        return (), "any"
    above = [u for u in chain[level:] if u != "X"]
    below = [u for u in chain[: level - 1] if u != "X"]
    return ((above[0],) if above else (below[-1],) if below else ()), "any"


def model_submit(flow: FlowModel | None, amount: Decimal, submitter: str,
                 chosen: dict[str, list[str]]) -> Inst:
    """The instance a (first-node) submission gives, or raise Refused."""
    history: list[tuple[str | None, str]] = [(submitter, "submit")]
    if flow is None or not flow.enabled:
        return Inst(submitter, S.NOT_REQUIRED, [], [*history, (None, "not_required")],
                    flow.id if flow else "", flow.spec["resubmit"] if flow else "first")
    path = route(flow.spec, amount, submitter)
    for node_id, node in path:
        if node[0] == "chooses":
            picked = chosen.get(node_id)
            if not picked:
                raise Refused(ValidationError, "approval.approvers_required")
            if "X" in picked:
                raise Refused(ValidationError, "approval.bad_approver")
            if submitter in picked:
                raise Refused(ValidationError, "approval.self_approver")
    steps: list[Step] = []
    passed: list[str] = []
    # nobody approves their own submission: a node only the submitter could approve goes to
    # the other 超级管理员, and the flow's admins never include the submitter either
    supers = tuple(u for u in holders("super_admin") if u != submitter)
    admins = unique(a for a in flow.spec["admins"] if a not in ("X", submitter))
    if not admins and submitter in flow.spec["admins"]:
        admins = supers
    for node_id, node in path:
        resolved, mode = resolve(node, node_id, submitter, chosen)
        approvers = tuple(u for u in resolved if u != submitter)
        if approvers:
            steps.append(Step(node_id, mode, approvers))
        elif resolved and supers:
            steps.append(Step(node_id, "any", supers, by_admin=True))
        elif flow.spec["no_approver"] == "auto_pass":
            history.append((None, "auto_pass"))
            passed.append(node_id)
        elif admins:
            steps.append(Step(node_id, "any", admins, by_admin=True))
        else:
            raise Refused(RuleViolation, "approval.no_approver")
    return Inst(submitter, S.PENDING if steps else S.APPROVED, steps, history, flow.id,
                flow.spec["resubmit"], passed)


def flow_payload(kind: str, spec: dict[str, Any], uid: dict[str, str], rid: dict[str, str],
                 did: dict[str, str]) -> dict[str, Any]:
    """The define_flow payload of a symbolic flow."""
    nodes: list[dict[str, Any]] = []
    used_end = False

    def terminal() -> str | None:
        nonlocal used_end
        if spec["end"]:
            used_end = True
            return "end"
        return None

    def approver(node: tuple[Any, ...], node_id: str, nxt: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "approver", "id": node_id, "next": nxt}
        source = node[0]
        if source == "members":
            out.update(source="members", member_ids=[uid[u] for u in node[1]], mode=node[2])
        elif source == "supervisor":
            out.update(source="supervisor", level=node[1], fallback_upward=node[2],
                       mode=node[3])
        elif source == "role":
            out.update(source="role", role_id=rid[node[1]], mode=node[2])
        elif source == "chooses":
            out.update(source="submitter_chooses", mode=node[1])
        else:
            out.update(source="supervisor_chain", level=node[1])
        return out

    def chain(prefix: str, items: list[tuple[Any, ...]]) -> str | None:
        ids = [f"{prefix}{j}" for j in range(len(items))]
        end = terminal()
        for j, node in enumerate(items):
            nodes.append(approver(node, ids[j], ids[j + 1] if j + 1 < len(ids) else end))
        return ids[0] if ids else end

    def condition(cond: tuple[Any, ...]) -> dict[str, Any]:
        if cond[0] == "amount":
            out = {"op": cond[1], "field": "amount", "value": cond[2]}
            if cond[1] == "between":
                out["upper"] = cond[3]
            return out
        if cond[0] == "user":
            return {"op": "user", "ids": [uid[u] for u in cond[1]]}
        if cond[0] == "role":
            return {"op": "role", "ids": [rid[r] for r in cond[1]]}
        return {"op": "department", "ids": [did[d] for d in cond[1]],
                "include_children": cond[2]}

    if spec["branches"]:
        branches = [{"conditions": [condition(c) for c in conds], "priority": priority,
                     "next": chain(f"b{i}n", items)}
                    for i, (conds, items, priority) in enumerate(spec["branches"])]
        nodes.insert(0, {"type": "condition", "id": "c", "branches": branches,
                         "default_next": chain("dn", spec["default"])})
        start = "c"
    else:
        first = chain("dn", spec["default"])
        if first is None:
            used_end, first = True, "end"
        start = first
    if used_end:
        nodes.append({"type": "end", "id": "end"})
    payload: dict[str, Any] = {
        "kind": kind, "name": f"{kind} 审批", "start": start, "nodes": nodes,
        "enabled": spec["enabled"], "no_approver": spec["no_approver"],
        "resubmit_from": spec["resubmit"]}
    if spec["no_approver"] == "admin":
        payload["admin_ids"] = [uid[a] for a in spec["admins"]]
    return payload


# -- the machine -----------------------------------------------------------------------------------
class ContractMachine(RuleBasedStateMachine):
    """Contracts and payments under random approval flows, through the facade."""

    storage_factory: Callable[[], Storage] | None = None

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(T0)
        factory = type(self).storage_factory
        storage = factory() if factory else None
        self.storage = storage
        self.notifier = OutboxNotifier(self.clock)
        self.crm = CRM(storage, clock=self.clock, ids=SequentialIds("id"), notifier=self.notifier)
        crm = self.crm
        boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
        top = crm.org.list_departments(boss)[0]
        self.rid: dict[str, str] = {r.code: r.id for r in crm.org.list_roles(boss) if r.code}
        self.rid["legal"] = crm.org.add_role(boss, {"name": "法务"}).id
        depts = {"top": top.id}
        depts["sales"] = crm.org.add_department(boss, {"name": "销售部", "parent_id": top.id}).id
        depts["group"] = crm.org.add_department(
            boss, {"name": "销售一组", "parent_id": depts["sales"]}).id
        depts["finance"] = crm.org.add_department(
            boss, {"name": "财务部", "parent_id": top.id}).id
        self.did = depts
        self.uid = {"B": boss.id}
        for i, (name, (dept, roles, boss_of)) in enumerate(PEOPLE.items()):
            self.uid[name] = crm.org.add_user(boss, {
                "mobile": f"1390000000{i}", "name": name, "department_id": depts[dept],
                "role_ids": [self.rid[r] for r in roles],
                "supervisor_id": self.uid[boss_of]}).id
        crm.org.disable_user(boss, self.uid["X"])
        assert sorted(self.uid.values()) == [self.uid[a] for a in ACTORS]
        self.name_of = {v: k for k, v in self.uid.items()}
        self.customer_id = {c: crm.customers.create(self.uid[owner], {"name": f"客户{c}"}).id
                            for c, owner in CUSTOMERS.items()}
        self.product_id = crm.products.create(
            boss, {"name": "CRM", "code": "P1", "price": str(PRICE)}).id
        self.flows: dict[str, FlowModel | None] = {"contract": None, "payment": None}
        self.records: dict[str, Rec] = {}
        self.sequence: Counter[tuple[str, str]] = Counter()
        self.won: set[str] = set()

    # -- helpers --------------------------------------------------------------------------------
    @property
    def boss(self) -> str:
        return self.uid["B"]

    def service(self, kind: str) -> Any:
        return self.crm.contracts if kind == "contract" else self.crm.payments

    def of_kind(self, kind: str) -> list[Rec]:
        return [r for r in self.records.values() if r.kind == kind]

    def received(self, contract_id: str) -> Decimal:
        return sum((p.amount for p in self.of_kind("payment")
                    if p.contract == contract_id and p.status in EFFECTIVE), Decimal(0))

    def next_number(self, kind: str, *, peek: bool = False) -> str:
        """The number the rule gives next: the day's next sequence value whose number no
        record holds (a number typed by hand is skipped); ``peek`` leaves the counter."""
        day = self.clock.now().astimezone(TZ).date()
        key, value = (kind, day.isoformat()), self.sequence[(kind, day.isoformat())]
        taken = {r.number for r in self.of_kind(kind)}
        while True:
            value += 1
            number = f"{PREFIX[kind]}{day:%Y%m%d}{value:04d}"
            if number not in taken:
                break
        if not peek:
            self.sequence[key] = value
        return number

    def stored(self) -> dict[str, Any]:
        """The stored state, read in one storage transaction (records of every status,
        approval instances, operation logs, plans, customers, flows) + notifications sent."""
        everything = RecordQuery(RecordScope.everything(), (), limit=1000)
        with self.crm.storage.transaction() as uow:
            records = {r.id: r for kind in PREFIX for r in uow.records(kind).query(everything)}
            return {
                "records": records,
                "instances": {i: uow.approvals.for_record(r.kind, i)
                              for i, r in self.records.items()},
                "logs": {i: tuple(uow.oplog.for_record(r.kind, i, limit=1000))
                         for i, r in self.records.items()},
                "plans": {c.id: tuple(uow.plans.for_contracts([c.id]))
                          for c in self.of_kind("contract")},
                "customers": tuple(uow.records("customer").get_many(
                    sorted(self.customer_id.values()))),
                "flows": tuple(uow.approvals.flows()),
                "waiting": {u: {i.record_id for i in uow.approvals.waiting_for(
                    self.uid[u], limit=1000)} for u in ACTIVE},
                "submitted": {u: {i.record_id for i in uow.approvals.submitted_by(
                    self.uid[u], limit=1000)} for u in ACTIVE},
                "notifications": len(self.notifier.sent),
            }

    def attempt(self, expected: Refusal | None, call: Callable[[], Any]) -> Any:
        """Run ``call``; it must succeed when ``expected`` is None, else raise that refusal and
        change nothing."""
        before = self.stored() if expected is not None else None
        try:
            result = call()
        except CrmError as err:
            codes = {err.code, *(e.code for e in getattr(err, "errors", ()))}
            assert expected is not None, f"unexpected refusal: {err!r}"
            assert isinstance(err, expected[0]) and expected[1] in codes, (
                f"expected {expected[0].__name__} {expected[1]}, got {err!r}")
            assert self.stored() == before, f"the refused call changed something: {err!r}"
            event(f"refused: {expected[1]}")
            return None
        assert expected is None, f"expected {expected[0].__name__} {expected[1]}, it succeeded"
        return result

    def notes_since(self, mark: int) -> Counter[tuple[str, str, str]]:
        return Counter((self.name_of[n.recipient_id], n.kind, n.record_id or "")
                       for n in self.notifier.sent[mark:] if n.kind.startswith("approval."))

    @staticmethod
    def expected_notes(rec_id: str, before: Inst | None, after: Inst
                       ) -> Counter[tuple[str, str, str]]:
        """approval.todo to whoever starts waiting; approved/rejected to the submitter."""
        now = set(after.waiting())
        same_step = (before is not None and before.status in RUNNING
                     and before.current == after.current)
        new = now - set(before.waiting()) if same_step and before is not None else now
        notes = Counter((u, "approval.todo", rec_id) for u in new)
        old_status = before.status if before is not None else S.DRAFT
        if after.status in (S.APPROVED, S.REJECTED) and old_status is not after.status:
            notes[(after.submitter, f"approval.{after.status.value}", rec_id)] += 1
        return notes

    def chosen_for(self, data: st.DataObject, node_ids: list[str], submitter: str
                   ) -> dict[str, list[str]]:
        """Approvers for 审批人自选 nodes: mostly fine; now and then none, the disabled X or
        the submitter themself."""
        chosen: dict[str, list[str]] = {}
        others = [u for u in ACTIVE if u != submitter]
        for node_id in node_ids:
            how = data.draw(st.sampled_from(["ok"] * 10 + ["missing", "disabled", "self"]))
            if how == "missing":
                continue
            picked = data.draw(st.lists(st.sampled_from(others), min_size=1, max_size=3,
                                        unique=True))
            chosen[node_id] = {"disabled": [*picked, "X"], "self": [submitter, *picked]
                               }.get(how, picked)
        return chosen

    def id_chosen(self, chosen: dict[str, list[str]]) -> dict[str, list[str]]:
        return {k: [self.uid[u] for u in v] for k, v in chosen.items()}

    def became_effective(self, rec: Rec, before: ApprovalStatus) -> None:
        if rec.kind == "contract" and rec.status in EFFECTIVE and before not in EFFECTIVE:
            self.won.add(rec.customer)

    def predict_submit(self, rec: Rec, actor: str, chosen: dict[str, list[str]],
                       amount: Decimal) -> Inst:
        """The instance after ``actor`` submits (or resubmits) ``rec``; raise Refused."""
        flow = self.flows[rec.kind]
        before = rec.inst
        if before is None:
            return model_submit(flow, amount, actor, chosen)
        if before.status not in (S.REJECTED, S.WITHDRAWN):
            raise Refused(RuleViolation, "approval.bad_status")
        # whoever may edit the record resubmits it (and becomes its submitter); it goes on at
        # the stopping step only if the flow says so, is still on and the record (as edited)
        # still takes the same route and the new submitter approves no step of it —
        # otherwise it starts over at the first node
        resume = (before.resubmit_from == "rejecting" and flow is not None
                  and flow.id == before.flow_id and flow.enabled
                  and not any(actor in step.approvers for step in before.steps)
                  and {n for n, _ in route(flow.spec, amount, actor)}
                  == {step.node for step in before.steps} | set(before.passed))
        event(f"resubmit: {'resume' if resume else 'restart'} ({before.resubmit_from})"
              f"{'' if actor == before.submitter else ' by another editor'}")
        if resume:
            after = copy.deepcopy(before)
            after.submitter = actor
            step = after.steps[after.current]
            step.approved, step.rejected = [], False
            after.status = S.IN_REVIEW if any(s.approved for s in after.steps) else S.PENDING
            after.history.append((actor, "resubmit"))
        else:
            after = model_submit(flow, amount, actor, chosen)
            after.history = [*before.history, (actor, "resubmit"), *after.history[1:]]
            after.passed = [*before.passed, *after.passed]
        after.version = before.version + 1
        return after

    def apply(self, rec: Rec, after: Inst, mark: int) -> None:
        """Commit a predicted approval change to the model; check the notifications sent."""
        assert self.notes_since(mark) == self.expected_notes(rec.id, rec.inst, after)
        old = rec.status
        rec.inst = after
        self.became_effective(rec, old)
        event(f"{rec.kind}: {old.value} → {after.status.value}")

    # -- setup ------------------------------------------------------------------------------------
    @initialize(contract=FLOW, payment=st.sampled_from([None, 1, 2]).flatmap(
        lambda n: FLOW if n else st.none()), seeds=st.integers(0, 3),
                data=st.data())
    def define_flows(self, contract: dict[str, Any], payment: dict[str, Any] | None,
                     seeds: int, data: st.DataObject) -> None:
        """The flows (no payment flow at all now and then), then a few contracts."""
        for kind, spec in (("contract", contract), ("payment", payment)):
            if spec is not None:
                flow = self.crm.approvals.define_flow(
                    self.boss, flow_payload(kind, spec, self.uid, self.rid, self.did))
                self.flows[kind] = FlowModel(spec, flow.id, flow.version)
        for _ in range(seeds):
            owner = data.draw(st.sampled_from(["R1", "R2", "M"]))
            self.create_contract(owner, f"C{owner}", data.draw(AMOUNTS), None, True, data)

    # -- flows ------------------------------------------------------------------------------------
    @rule(kind=st.sampled_from(["contract", "payment"]), spec=FLOW,
          actor=st.sampled_from(["B", "B", "B", "M", "F1", "X"]),
          how=st.sampled_from(["define", "define", "broken", "on", "off"]))
    def change_flow(self, kind: str, spec: dict[str, Any], actor: str, how: str) -> None:
        """Define or replace a flow (some broken), or switch it on or off."""
        if how in ("on", "off"):
            self.switch_flow(kind, how == "on")
            return
        broken = how == "broken"
        payload = flow_payload(kind, spec, self.uid, self.rid, self.did)
        expected: Refusal | None = None
        if broken:
            payload["admin_ids"] = ["nobody"]
            payload["no_approver"] = "admin"
        if actor == "X":
            expected = (PermissionDenied, "auth.inactive_user")
        elif actor != "B":
            expected = (PermissionDenied, "permission_denied")
        elif broken:
            expected = (ValidationError, "flow.unknown_user")
        flow = self.attempt(expected, lambda: self.crm.approvals.define_flow(
            self.uid[actor], payload))
        if flow is not None:
            old = self.flows[kind]
            assert flow.version == (old.version + 1 if old else 1)
            assert old is None or flow.id == old.id
            self.flows[kind] = FlowModel(spec, flow.id, flow.version)

    def switch_flow(self, kind: str, enabled: bool) -> None:
        old = self.flows[kind]
        expected = None if old else (NotFound, "approval_flow.not_found")
        flow = self.attempt(expected, lambda: self.crm.approvals.set_flow_enabled(
            self.boss, kind, enabled))
        if flow is not None and old is not None:
            assert flow.enabled is enabled
            assert flow.version == old.version + (old.enabled != enabled)
            self.flows[kind] = FlowModel({**old.spec, "enabled": enabled}, old.id, flow.version)

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    # -- contracts --------------------------------------------------------------------------------
    @rule(actor=SOMEONE, customer=st.sampled_from(sorted(CUSTOMERS)),
          amount=AMOUNTS, quantity=st.none() | st.integers(1, 200),
          submit=st.sampled_from([True, True, False]),
          data=st.data(), typed=st.sampled_from([None] * 6 + ["taken", "next", "custom"]))
    def create_contract(self, actor: str, customer: str, amount: Decimal, quantity: int | None,
                        submit: bool, data: st.DataObject, typed: str | None = None) -> None:
        payload: dict[str, Any] = {"name": "合同", "customer_id": self.customer_id[customer]}
        existing = sorted(r.number for r in self.of_kind("contract"))
        if typed == "taken" and existing:
            payload["number"] = data.draw(st.sampled_from(existing))
        elif typed == "next":           # the sequence's next number, typed by hand
            payload["number"] = self.next_number("contract", peek=True)
        elif typed == "custom":
            payload["number"] = f"手工{len(existing)}"
        if quantity is not None:
            payload["lines"] = [{"product_id": self.product_id, "quantity": str(quantity)}]
            amount = PRICE * quantity
        else:
            payload["amount"] = str(amount)
        flow = self.flows["contract"]
        needs = [n for n, node in route(flow.spec, amount, actor) if node[0] == "chooses"] if (
            submit and flow is not None and flow.enabled) else []
        chosen = self.chosen_for(data, needs, actor)
        inst: Inst | None = None
        try:
            if actor == "X":
                raise Refused(PermissionDenied, "auth.inactive_user")
            if not sees(actor, CUSTOMERS[customer]):
                raise Refused(ValidationError, "not_found")
            if payload.get("number") in existing:
                raise Refused(ValidationError, "unique")
            if submit:
                inst = model_submit(flow, amount, actor, chosen)
            expected = None
        except Refused as refused:
            expected = refused.expected
        mark = len(self.notifier.sent)
        made = self.attempt(expected, lambda: self.crm.contracts.create(
            self.uid[actor], payload, submit=submit, chosen=self.id_chosen(chosen)))
        if made is None:
            return
        number = payload.get("number") or self.next_number("contract")
        if "number" in payload:
            event(f"number typed by hand: {typed}")
        rec = Rec("contract", made.id, actor, amount, number, customer,
                  lines=quantity is not None)
        assert (made.number, made.amount, made.unreceived_amount) == (rec.number, amount, amount)
        self.records[made.id] = rec
        if inst is not None:
            self.apply(rec, inst, mark)
        assert made.approval_status is rec.status

    @precondition(lambda self: self.records)
    @rule(data=st.data(), informed=INFORMED)
    def submit(self, data: st.DataObject, informed: bool) -> None:
        records = sorted(self.records.values(), key=lambda r: r.id)
        ready = ([r for r in records if r.status in (S.REJECTED, S.WITHDRAWN)]
                 or [r for r in records if r.status is S.DRAFT])
        rec = data.draw(st.sampled_from(ready if informed and ready else records))
        submitter = rec.inst.submitter if rec.inst else rec.owner
        self.submit_as(rec, submitter if informed else data.draw(SOMEONE), data)

    @precondition(lambda self: any(r.status in (S.REJECTED, S.WITHDRAWN)
                                   for r in self.records.values()))
    @rule(data=st.data())
    def resubmit(self, data: st.DataObject) -> None:
        """The submitter resubmits a rejected or withdrawn record (重新提交)."""
        rec = data.draw(st.sampled_from(sorted(
            (r for r in self.records.values() if r.status in (S.REJECTED, S.WITHDRAWN)),
            key=lambda r: r.id)))
        assert rec.inst is not None
        self.submit_as(rec, rec.inst.submitter, data)

    def submit_as(self, rec: Rec, actor: str, data: st.DataObject) -> None:
        service = self.service(rec.kind)
        needs: list[str] = []
        try:
            nodes = service.route(self.uid[actor], rec.id)
        except CrmError:
            nodes = None
        else:
            flow = self.flows[rec.kind]
            expect_route = route(flow.spec, rec.amount, actor) if flow and flow.enabled else []
            assert [n.id for n in nodes] == [n for n, _ in expect_route]
            needs = [n.id for n in nodes if n.source is Src.SUBMITTER_CHOOSES]
        chosen = self.chosen_for(data, needs, actor)
        try:
            if actor == "X":
                raise Refused(PermissionDenied, "auth.inactive_user")
            if not sees(actor, rec.owner):
                raise Refused(NotFound, "record.not_found")
            assert nodes is not None
            after = self.predict_submit(rec, actor, chosen, rec.amount)
            expected = None
        except Refused as refused:
            expected = refused.expected
        mark = len(self.notifier.sent)
        done = self.attempt(expected, lambda: service.submit(
            self.uid[actor], rec.id, chosen=self.id_chosen(chosen), comment="请审批"))
        if done is not None:
            self.apply(rec, after, mark)
            assert done.record.approval_status is after.status

    @precondition(lambda self: any(r.inst is not None for r in self.records.values()))
    @rule(data=st.data(), action=st.sampled_from(["approve", "reject", "reject", "withdraw"]),
          informed=INFORMED, comment=COMMENTS)
    def act(self, data: st.DataObject, action: str, informed: bool, comment: str) -> None:
        submitted = sorted((r for r in self.records.values() if r.inst is not None),
                           key=lambda r: r.id)
        running = [r for r in submitted if r.status in RUNNING]
        rec = data.draw(st.sampled_from(running if informed and running else submitted))
        inst = rec.inst
        assert inst is not None
        if informed and action == "withdraw":
            actor = inst.submitter
        elif informed and inst.waiting():
            actor = data.draw(st.sampled_from(inst.waiting()))
        else:
            actor = data.draw(SOMEONE)
        self.act_as(rec, actor, action, comment)

    @precondition(lambda self: any(r.inst and r.inst.waiting() for r in self.records.values()))
    @rule(data=st.data())
    def approve_in_turn(self, data: st.DataObject) -> None:
        """Someone the approval waits for approves (keeps approvals moving)."""
        rec = data.draw(st.sampled_from(sorted(
            (r for r in self.records.values() if r.inst and r.inst.waiting()),
            key=lambda r: r.id)))
        assert rec.inst is not None
        self.act_as(rec, data.draw(st.sampled_from(rec.inst.waiting())), "approve", "")

    def act_as(self, rec: Rec, actor: str, action: str, comment: str) -> None:
        inst = rec.inst
        assert inst is not None
        stored = self.crm.approvals.instance(self.boss, rec.kind, rec.id)
        assert stored is not None
        expected: Refusal | None = None
        if actor == "X":
            expected = (PermissionDenied, "auth.inactive_user")
        elif not inst.involved(actor) and not sees(actor, rec.owner):
            expected = (NotFound, "approval.not_found")  # as for a record never submitted
        elif action == "withdraw":
            if inst.status not in RUNNING:
                expected = (RuleViolation, "approval.bad_status")
            elif actor != inst.submitter:
                expected = (PermissionDenied, "approval.not_submitter")
        elif inst.status not in RUNNING:
            expected = (RuleViolation, "approval.bad_status")
        elif actor not in inst.waiting():
            expected = (PermissionDenied, "approval.not_your_turn")
        elif action == "reject" and not comment.strip():
            expected = (ValidationError, "approval.comment_required")
        mark = len(self.notifier.sent)
        call = getattr(self.crm.approvals, action)
        done = self.attempt(expected, lambda: call(self.uid[actor], rec.kind, rec.id, comment))
        if done is None:
            return
        if action != "withdraw":       # the actor was waiting, in the stored state, just before
            assert stored.current_step is not None
            assert self.uid[actor] in stored.current_step.waiting_for
        after = copy.deepcopy(inst)
        after.version += 1
        after.history.append((actor, action))
        if action == "withdraw":
            after.status = S.WITHDRAWN
        elif action == "reject":
            after.steps[after.current].rejected = True
            after.status = S.REJECTED
        else:
            step = after.steps[after.current]
            step.approved.append(actor)
            if step.complete():
                after.current += 1
            after.status = S.APPROVED if after.current == len(after.steps) else S.IN_REVIEW
        if action == "approve":
            event(f"approved a {inst.steps[inst.current].mode} step"
                  f"{' of admins' if inst.steps[inst.current].by_admin else ''}")
        self.apply(rec, after, mark)
        assert done.record.approval_status is after.status

    @precondition(lambda self: self.records)
    @rule(data=st.data(), actor=st.sampled_from(["B", "M", "M", "R1", "F1", "X"]),
          via_approvals=st.sampled_from([False, False, False, True]))
    def void(self, data: st.DataObject, actor: str, via_approvals: bool) -> None:
        rec = data.draw(st.sampled_from(sorted(self.records.values(), key=lambda r: r.id)))
        if via_approvals:              # crmkit's own kinds are voided through their service
            self.attempt((PermissionDenied, "approval.void_via_record"),
                         lambda: self.crm.approvals.void(self.uid[actor], rec.kind, rec.id))
            return
        expected: Refusal | None = None
        if actor == "X":
            expected = (PermissionDenied, "auth.inactive_user")
        elif actor not in VOIDERS:
            expected = (PermissionDenied, "permission_denied")
        elif not sees(actor, rec.owner):
            expected = (NotFound, "record.not_found")
        elif rec.kind == "contract" and any(
                p.contract == rec.id and p.status is not S.VOID for p in self.of_kind("payment")):
            expected = (RuleViolation, "contract.has_payments")
        elif rec.status is S.VOID:
            expected = (RuleViolation, "approval.bad_status")
        mark = len(self.notifier.sent)
        done = self.attempt(expected, lambda: self.service(rec.kind).void(
            self.uid[actor], rec.id, "作废"))
        if done is None:
            return
        if rec.inst is None:
            after = Inst(actor, S.VOID, [], [(actor, "void")])
        else:
            after = copy.deepcopy(rec.inst)
            after.version += 1
            after.history.append((actor, "void"))
            after.status = S.VOID
        self.apply(rec, after, mark)
        assert done.approval_status is S.VOID

    @precondition(lambda self: self.records)
    @rule(data=st.data(), actor=st.sampled_from(["B", "M", "R1", "R2", "F1"]), amount=AMOUNTS)
    def edit_amount(self, data: st.DataObject, actor: str, amount: Decimal) -> None:
        rec = data.draw(st.sampled_from(sorted(self.records.values(), key=lambda r: r.id)))
        expected: Refusal | None = None
        if not sees(actor, rec.owner):
            expected = (NotFound, "record.not_found")
        elif rec.status not in EDITABLE:
            expected = (RuleViolation, f"{rec.kind}.locked")
        elif rec.kind == "contract" and not rec.lines and amount < rec.amount and sum(
                (p.amount for p in rec.plans if not p.voided), Decimal(0)) > amount:
            expected = (RuleViolation, "payment_plan.exceeds_contract")
        elif rec.kind == "payment" and amount <= 0:
            amount = Decimal("0.01")
        done = self.attempt(expected, lambda: self.service(rec.kind).update(
            self.uid[actor], rec.id, {"amount": str(amount)}))
        if done is not None and not rec.lines:
            rec.amount = amount
        if done is not None:
            assert done.amount == rec.amount

    @precondition(lambda self: self.records)
    @rule(data=st.data(), actor=SOMEONE)
    def read_approval(self, data: st.DataObject, actor: str) -> None:
        """The submitter and every approver of the snapshot read the record and its approval
        even outside their data scope; anyone else only within it."""
        rec = data.draw(st.sampled_from(sorted(self.records.values(), key=lambda r: r.id)))
        expected: Refusal | None = None
        if actor == "X":
            expected = (PermissionDenied, "auth.inactive_user")
        elif not (rec.inst and rec.inst.involved(actor)) and not sees(actor, rec.owner):
            expected = (NotFound, "record.not_found")
        found = self.attempt(expected, lambda: self.crm.approvals.instance(
            self.uid[actor], rec.kind, rec.id))
        record = self.attempt(expected, lambda: self.crm.approvals.record(
            self.uid[actor], rec.kind, rec.id))
        if expected is None:
            assert (found is None) == (rec.inst is None) and record.id == rec.id
            assert found is None or found.status is rec.status

    @precondition(lambda self: self.records)
    @rule(data=st.data(), actor=SOMEONE, to=st.sampled_from(ACTORS))
    def transfer(self, data: st.DataObject, actor: str, to: str) -> None:
        """转移 in any approval status: the new owner sees (and may resubmit) the record."""
        rec = data.draw(st.sampled_from(sorted(self.records.values(), key=lambda r: r.id)))
        expected: Refusal | None = None
        if actor == "X":
            expected = (PermissionDenied, "auth.inactive_user")
        elif actor in ("F1", "F2"):                 # finance may not transfer
            expected = (PermissionDenied, "permission_denied")
        elif to == "X":
            expected = (ValidationError, "not_found")
        elif not sees(actor, rec.owner):
            expected = (NotFound, "record.not_found")
        done = self.attempt(expected, lambda: self.service(rec.kind).transfer(
            self.uid[actor], [rec.id], self.uid[to]))
        if done is not None:
            rec.owner = to

    @precondition(lambda self: self.records)
    @rule(data=st.data(), actor=st.sampled_from(["B", "M", "R1", "F1"]))
    def delete(self, data: st.DataObject, actor: str) -> None:
        rec = data.draw(st.sampled_from(sorted(self.records.values(), key=lambda r: r.id)))
        expected: Refusal | None = None
        if actor not in VOIDERS:                    # the permission is checked first
            expected = (PermissionDenied, "permission_denied")
        elif not sees(actor, rec.owner):
            expected = (NotFound, "record.not_found")
        elif rec.inst is not None:
            expected = (RuleViolation, f"{rec.kind}.submitted")
        self.attempt(expected, lambda: self.service(rec.kind).delete(self.uid[actor], rec.id))
        if expected is None:
            del self.records[rec.id]

    # -- plans and payments -----------------------------------------------------------------------
    @precondition(lambda self: self.of_kind("contract"))
    @rule(data=st.data(), actor=st.sampled_from(["B", "M", "R1", "R2", "F1", "X"]),
          amounts=st.lists(st.sampled_from(["100", "1000", "2500.50", "40000"]).map(Decimal),
                           min_size=1, max_size=3))
    def add_plans(self, data: st.DataObject, actor: str, amounts: list[Decimal]) -> None:
        rec = data.draw(st.sampled_from(sorted(self.of_kind("contract"), key=lambda r: r.id)))
        planned = sum((p.amount for p in rec.plans if not p.voided), Decimal(0))
        expected: Refusal | None = None
        if actor == "X":
            expected = (PermissionDenied, "auth.inactive_user")
        elif not sees(actor, rec.owner):
            expected = (NotFound, "record.not_found")
        elif rec.status is S.VOID:
            expected = (RuleViolation, "contract.void")
        elif planned + sum(amounts) > rec.amount:
            expected = (RuleViolation, "payment_plan.exceeds_contract")
        items = [{"amount": str(a), "planned_date": "2026-12-01", "remind_days": 3}
                 for a in amounts]
        made = self.attempt(expected, lambda: self.crm.contracts.add_plans(
            self.uid[actor], rec.id, items))
        if made is None:
            return
        first = max((p.period for p in rec.plans), default=0) + 1
        assert [(p.period, p.amount) for p in made] == [
            (first + i, a) for i, a in enumerate(amounts)]
        rec.plans += [Plan(p.id, p.period, p.amount) for p in made]

    @precondition(lambda self: any(c.plans for c in self.of_kind("contract")))
    @rule(data=st.data(), actor=st.sampled_from(["B", "M", "R1", "F1"]))
    def void_plan(self, data: st.DataObject, actor: str) -> None:
        rec = data.draw(st.sampled_from(sorted(
            (c for c in self.of_kind("contract") if c.plans), key=lambda r: r.id)))
        plan = data.draw(st.sampled_from(rec.plans))
        expected = None if sees(actor, rec.owner) else (NotFound, "payment_plan.not_found")
        done = self.attempt(expected, lambda: self.crm.contracts.void_plan(
            self.uid[actor], plan.id))
        if done is not None:
            assert done.voided
            plan.voided = True

    @precondition(lambda self: self.of_kind("contract"))
    @rule(data=st.data(), actor=st.sampled_from(["B", "M", "R1", "R2", "F1", "F2", "X"]),
          amount=PAY_AMOUNTS, plan=st.sampled_from(["none", "none", "own", "other"]),
          submit=st.sampled_from([True, True, False]))
    def create_payment(self, data: st.DataObject, actor: str, amount: Decimal, plan: str,
                       submit: bool) -> None:
        contracts = sorted(self.of_kind("contract"), key=lambda r: r.id)
        effective = [c for c in contracts if c.status in EFFECTIVE]
        pool = effective if bool(effective) and data.draw(INFORMED) else contracts
        contract = data.draw(st.sampled_from(pool))
        plan_id: str | None = None
        plan_state = "none"
        if plan == "own" and contract.plans:
            chosen_plan = data.draw(st.sampled_from(contract.plans))
            plan_id, plan_state = chosen_plan.id, "void" if chosen_plan.voided else "ok"
        elif plan == "other":
            others = [p for c in contracts if c.id != contract.id for p in c.plans]
            if others:
                plan_id, plan_state = data.draw(st.sampled_from(others)).id, "other"
        payload: dict[str, Any] = {"contract_id": contract.id, "paid_on": "2026-11-02",
                                   "amount": str(amount), "method": "电汇"}
        if plan_id is not None:
            payload["plan_id"] = plan_id
        flow = self.flows["payment"]
        needs = [n for n, node in route(flow.spec, amount, actor) if node[0] == "chooses"] if (
            submit and flow is not None and flow.enabled) else []
        chosen = self.chosen_for(data, needs, actor)
        inst: Inst | None = None
        try:
            if actor == "X":
                raise Refused(PermissionDenied, "auth.inactive_user")
            if not sees(actor, contract.owner):
                raise Refused(ValidationError, "not_found")
            if contract.status not in EFFECTIVE:
                raise Refused(RuleViolation, "payment.contract_not_approved")
            if plan_state == "other":
                raise Refused(ValidationError, "not_found")
            if plan_state == "void":
                raise Refused(ValidationError, "payment_plan.void")
            if submit:
                inst = model_submit(flow, amount, actor, chosen)
            expected = None
        except Refused as refused:
            expected = refused.expected
        mark = len(self.notifier.sent)
        made = self.attempt(expected, lambda: self.crm.payments.create(
            self.uid[actor], payload, submit=submit, chosen=self.id_chosen(chosen)))
        if made is None:
            return
        rec = Rec("payment", made.id, actor, amount, self.next_number("payment"),
                  contract.customer, contract=contract.id, plan=plan_id)
        assert (made.number, made.amount, made.customer_id) == (
            rec.number, amount, self.customer_id[contract.customer])
        self.records[made.id] = rec
        if inst is not None:
            self.apply(rec, inst, mark)
        assert made.approval_status is rec.status
        event("payment created")

    # -- invariants -------------------------------------------------------------------------------
    @invariant()
    def stored_state_agrees(self) -> None:
        crm = self.crm
        state = self.stored()
        stored = state["records"]
        assert set(stored) == set(self.records)
        for kind in PREFIX:
            numbers = [stored[r.id].number for r in self.of_kind(kind)]
            assert all(numbers) and len(numbers) == len(set(numbers))
        waiting: dict[str, set[str]] = {u: set() for u in ACTIVE}
        for rec in self.records.values():
            record, instance = stored[rec.id], state["instances"][rec.id]
            assert (record.number, record.amount) == (rec.number, rec.amount)
            assert record.approval_status is rec.status
            if rec.inst is None:
                assert instance is None and record.approval_id is None
                continue
            assert instance is not None
            assert (record.approval_id, record.approval_status) == (instance.id, instance.status)
            self.check_instance(rec.inst, instance)
            if instance.status is S.APPROVED:
                assert_complete(instance)
            log = [(e.actor_id, e.action) for e in reversed(state["logs"][rec.id])
                   if e.action.startswith("approval.")]
            assert log == [(e.actor_id, f"approval.{e.action.value}")
                           for e in instance.history if e.actor_id is not None]
            for user in rec.inst.waiting():
                waiting[user].add(rec.id)
        assert state["waiting"] == waiting        # 待我审批 of every active user
        assert state["submitted"] == {           # 我提交的 (a draft voided was never submitted)
            u: {r.id for r in self.records.values() if r.inst and r.inst.submitter == u
                and any(a == "submit" for _, a in r.inst.history)} for u in ACTIVE}
        deal = {c.id: c.deal_status for c in state["customers"]}
        won = {c for c, cid in self.customer_id.items() if deal[cid] == DEAL_WON}
        assert won == self.won
        for contract in self.of_kind("contract"):
            record = stored[contract.id]
            payments = [stored[p.id] for p in self.of_kind("payment")
                        if p.contract == contract.id]
            if contract.status not in EFFECTIVE:
                assert all(p.approval_status is S.VOID for p in payments)
            received = sum((p.amount for p in payments if p.approval_status in EFFECTIVE),
                           Decimal(0))
            assert record.received_amount == received == self.received(contract.id)
            assert record.unreceived_amount == record.amount - received
            if record.approval_status in EFFECTIVE:
                assert contract.customer in won
            plans = state["plans"][contract.id]
            assert [(p.id, p.voided) for p in plans] == [
                (p.id, p.voided) for p in contract.plans]
            if not plans:
                continue
            for view in crm.contracts.plans(self.boss, contract.id):
                assert view.received == sum(
                    (p.amount for p in payments
                     if p.plan_id == view.plan.id and p.approval_status in EFFECTIVE),
                    Decimal(0))
                void = view.plan.voided or record.approval_status is S.VOID
                assert (view.status.value == "void") == void

    def check_instance(self, model: Inst, instance: ApprovalInstance) -> None:
        name = self.name_of
        assert (name[instance.submitter_id], instance.status, instance.current,
                instance.version, instance.flow_id) == (
            model.submitter, model.status, model.current, model.version, model.flow_id)
        if model.flow_id:
            assert instance.resubmit_from.value == model.resubmit_from
        assert [(s.node_id, s.mode.value, tuple(name[a] for a in s.approver_ids),
                 [name[a] for a in s.approved_by], s.rejected_by is not None, s.by_admin)
                for s in instance.steps] == [
            (s.node, s.mode, s.approvers, s.approved, s.rejected, s.by_admin)
            for s in model.steps]
        assert [(name.get(e.actor_id or "", None), e.action.value)
                for e in instance.history] == model.history


def assert_complete(instance: ApprovalInstance) -> None:
    """通过: every step complete — 会签 all, 或签 at least one, 依次 all in order."""
    assert instance.current == len(instance.steps)
    for step in instance.steps:
        assert step.rejected_by is None
        assert set(step.approved_by) <= set(step.approver_ids)
        assert len(set(step.approved_by)) == len(step.approved_by)
        if step.mode is ApprovalMode.ANY:
            assert len(step.approved_by) == 1
        elif step.mode is ApprovalMode.ALL:
            assert set(step.approved_by) == set(step.approver_ids)
        else:
            assert step.approved_by == step.approver_ids


FAST = os.environ.get("CRMKIT_STATEFUL_EXAMPLES")

TestContractMachine = ContractMachine.TestCase
TestContractMachine.settings = settings(
    max_examples=int(FAST or 100), stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def sqlite_storage() -> Storage:
    from crmkit.adapters.sqlalchemy import SqlStorage

    storage = SqlStorage("sqlite://")
    storage.create_schema()
    return storage


class SqliteContractMachine(ContractMachine):
    """The same machine on the SQLAlchemy adapter (SQLite in memory)."""

    storage_factory = staticmethod(sqlite_storage)


TestSqliteContractMachine = SqliteContractMachine.TestCase
TestSqliteContractMachine.settings = settings(
    max_examples=int(FAST or 12), stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
