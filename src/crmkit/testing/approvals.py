"""The approval storage contract: subclass :class:`ApprovalStorageContract`, implement
``make_storage``, run pytest.

It checks the rules of :mod:`crmkit.ports.approvals` — flows (one per kind, versioned
replace), instances (one per record, versioned update, 待我审批 following the current step,
我提交的 newest first — both also checked with hypothesis against a plain Python filter of
random instances), number sequences (1, 2, 3 … per name and period, a rollback gives the
value back), payment plans (periods, versioned update, due reminders: done and void plans and
plans of void contracts left out, keyset pages by planned date then id, checked with hypothesis
against a plain Python filter) and received sums (only effective payments count, checked with
hypothesis against a plain Python sum) — and that contracts and payments round-trip as record
kinds (exact decimals and product lines, the approval status enum, unique numbers)::

    class TestMyApprovalStorage(ApprovalStorageContract):
        def make_storage(self):
            return MyStorage(...)   # empty; create_schema() is called by the contract

Conflict codes: ``approval_flow.kind_taken``, ``approval.exists``, ``approval.record_taken``,
``payment_plan.exists``, ``contract.number_taken``, ``payment.number_taken`` and
``version_conflict``. Only 我提交的 lists instances that were submitted (``submitted_at`` set);
ties of submission time are broken by id (ascending for 待我审批, descending for 我提交的).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.entities import RecordScope
from crmkit.entities.approvals import (
    ApprovalAction,
    ApprovalEvent,
    ApprovalFlow,
    ApprovalInstance,
    ApprovalMode,
    ApprovalStatus,
    ApprovalStep,
    ApproverNode,
    ApproverSource,
    Branch,
    Condition,
    ConditionNode,
    ConditionOp,
    EndNode,
    NoApproverPolicy,
    ResubmitFrom,
)
from crmkit.entities.contracts import (
    CONTRACT,
    EFFECTIVE,
    PAYMENT,
    Contract,
    Payment,
    PaymentPlan,
)
from crmkit.entities.fields import ValueKind
from crmkit.entities.query import Condition as QueryCondition
from crmkit.entities.query import FieldRef, Operator, RecordQuery, SortKey
from crmkit.entities.sales import ProductLine
from crmkit.errors import Conflict
from crmkit.policies.contracts import due_order, plan_due
from crmkit.policies.query_eval import cursor_values, page_of
from crmkit.ports import Storage
from crmkit.testing.storage import T0, Boom, StorageSuite

__all__ = [
    "ApprovalStorageContract",
    "contracts",
    "payments",
    "sample_contract",
    "sample_flow",
    "sample_instance",
    "sample_payment",
    "sample_plan",
]

S, M = ApprovalStatus, ApprovalMode

# -- samples -------------------------------------------------------------------------------------


def sample_flow(kind: str = CONTRACT, flow_id: str = "F1", **kw: Any) -> ApprovalFlow:
    """A flow with every node type: amount > 10 000 → 2nd-level supervisor, then 会签 of two
    members, then the end."""
    fields: dict[str, Any] = {
        "id": flow_id,
        "kind": kind,
        "name": f"{kind} 审批",
        "nodes": (
            ConditionNode("c1", (
                Branch((Condition(ConditionOp.GT, field="amount", value="10000"),), "n1",
                       priority=1, name="大额"),
                Branch((Condition(ConditionOp.DEPARTMENT, ids=frozenset({"d2", "d1"}),
                                  include_children=False),
                        Condition(ConditionOp.BETWEEN, field="amount", value=1, upper=9)),
                       None, priority=2),
            ), default_next="n2", name="金额"),
            ApproverNode("n1", ApproverSource.SUPERVISOR, level=2, fallback_upward=True,
                         next="n2", name="二级主管"),
            ApproverNode("n2", ApproverSource.MEMBERS, mode=M.ALL, member_ids=("u2", "u1"),
                         next="end"),
            ApproverNode("n3", ApproverSource.ROLE, role_id="r1", next=None),
            EndNode("end", name="结束"),
        ),
        "start": "c1",
    }
    fields.update(kw)
    return ApprovalFlow(**fields)


def sample_instance(
    instance_id: str = "I1",
    record_id: str = "K1",
    *,
    submitter_id: str = "u9",
    submitted_at: datetime | None = T0,
    steps: Sequence[ApprovalStep] = (ApprovalStep("n2", M.ALL, ("u1", "u2")),),
    status: ApprovalStatus = S.PENDING,
    **kw: Any,
) -> ApprovalInstance:
    """A running instance of contract ``record_id`` (its current step waits for u1 and u2)."""
    fields: dict[str, Any] = {
        "id": instance_id, "record_kind": CONTRACT, "record_id": record_id, "flow_id": "F1",
        "flow_version": 1, "submitter_id": submitter_id, "status": status, "steps": steps,
        "submitted_at": submitted_at,
        "history": (() if submitted_at is None else
                    (ApprovalEvent(submitter_id, ApprovalAction.SUBMIT, submitted_at),)),
    }
    fields.update(kw)
    return ApprovalInstance(**fields)


def sample_contract(contract_id: str = "K1", **kw: Any) -> Contract:
    fields: dict[str, Any] = {
        "id": contract_id, "number": f"HT-{contract_id}", "name": f"合同 {contract_id}",
        "customer_id": "C1", "owner_id": "u1", "created_by": "u1", "created_at": T0,
        "updated_at": T0,
    }
    fields.update(kw)
    return Contract(**fields)


def sample_payment(payment_id: str = "P1", contract_id: str = "K1", **kw: Any) -> Payment:
    fields: dict[str, Any] = {
        "id": payment_id, "number": f"HK-{payment_id}", "contract_id": contract_id,
        "customer_id": "C1", "owner_id": "u1", "created_by": "u1", "created_at": T0,
        "updated_at": T0, "amount": Decimal("1.00"),
    }
    fields.update(kw)
    return Payment(**fields)


def sample_plan(plan_id: str = "PL1", contract_id: str = "K1", period: int = 1,
                **kw: Any) -> PaymentPlan:
    fields: dict[str, Any] = {
        "id": plan_id, "contract_id": contract_id, "customer_id": "C1", "period": period,
        "amount": Decimal("100.00"), "planned_date": date(2026, 12, 1), "created_by": "u1",
        "created_at": T0,
    }
    fields.update(kw)
    return PaymentPlan(**fields)


LINES = (
    ProductLine("P1", "服务器", Decimal("12.50"), Decimal("1.2345"), Decimal("7.50"), "台",
                Decimal("14.28")),
    ProductLine("P2", "软件", Decimal("999999999999.99"), Decimal("1000000000"), Decimal("0"),
                None, Decimal("999999999999990000000.00")),
    ProductLine("P3", "零件", Decimal("0.01"), Decimal("3"), Decimal("100"), "个",
                Decimal("0.00")),
)

FULL_CONTRACT = Contract(
    id="K1", number="HT20261101-0001", name="年度框架 'quoted'", customer_id="C1",
    owner_id="u1", created_by="u2", created_at=T0,
    updated_at=T0 + timedelta(seconds=1, microseconds=7), version=3, opportunity_id="O1",
    amount=Decimal("9999999999999.99"), order_date=date(2024, 2, 29),
    start_date=date(2026, 1, 1), end_date=date(9999, 12, 31), customer_signer_id="K7",
    company_signer_id="u3", lines=LINES, order_discount=Decimal("12.25"),
    approval_status=S.IN_REVIEW, approval_id="I1", received_amount=Decimal("0.10"),
    unreceived_amount=Decimal("9999999999999.89"), remark="多行\n备注",
    next_contact_at=T0 + timedelta(days=2), last_followup_at=T0 - timedelta(days=1),
    last_followup_content="打电话",
    custom={"c_dec": "-12.50", "c_list": ["x", "中"], "c_null": None, "c_nested": {"a": [1]}},
)
FULL_PAYMENT = Payment(
    id="P1", number="HK20261101-0001", contract_id="K1", customer_id="C1", owner_id="u2",
    created_by="u1", created_at=T0, updated_at=T0 + timedelta(minutes=1), version=2,
    plan_id="PL1", paid_on=date(2026, 11, 2), amount=Decimal("123456789012.34"),
    method="电汇", approval_status=S.NOT_REQUIRED, approval_id=None, remark="首款",
    next_contact_at=None, last_followup_at=T0, last_followup_content="到账",
    custom={"c_text": "v"},
)


def decimal_texts(value: Any) -> Any:
    """Every Decimal inside an entity as its exact text, so scale differences show too."""
    if isinstance(value, Decimal):
        return str(value)
    if attrs.has(type(value)):
        return {a.name: decimal_texts(getattr(value, a.name)) for a in attrs.fields(type(value))}
    if isinstance(value, tuple | list):
        return [decimal_texts(v) for v in value]
    return value


# -- strategies ----------------------------------------------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
                max_size=12)
_IDS = st.text("abcXYZ019_-中", min_size=1, max_size=8)
_MONEY = st.decimals(min_value=0, max_value=Decimal("9999999999999.99"), places=2)
_PERCENT = st.decimals(min_value=0, max_value=100, places=2)
_SCALED = st.integers(-10**20, 10**20).flatmap(
    lambda n: st.integers(0, 6).map(lambda places: Decimal(n).scaleb(-places)))
"""Line decimals: any scale, up to 21 digits (lines are JSON text, kept exactly)."""
_INSTANTS = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1),
                         timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]))
_DATES = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
_JSON_SCALARS = (st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1) | _TEXT)
_CUSTOM = st.dictionaries(st.text("abc_中 '\"", min_size=1, max_size=5),
                          _JSON_SCALARS | st.lists(_TEXT, max_size=3), max_size=4)
_LINES = st.lists(st.builds(ProductLine, _IDS, _TEXT, _SCALED, _SCALED, _SCALED,
                            st.none() | _TEXT, _SCALED), max_size=3).map(tuple)


_APPROVERS = ("u1", "u2", "u3")
_SUBMISSIONS = (T0, T0 + timedelta(hours=1), (T0 + timedelta(hours=1)).astimezone(
    timezone(timedelta(hours=8))), T0 + timedelta(hours=2))
"""Submission times with ties (the same instant in two timezones too)."""


@st.composite
def _steps(draw: st.DrawFn) -> ApprovalStep:
    """A step of any mode, approved by a prefix of its approvers, sometimes rejected."""
    approvers = tuple(draw(st.lists(st.sampled_from(_APPROVERS), min_size=1, max_size=3)))
    done = draw(st.integers(0, len(approvers)))
    return ApprovalStep(draw(st.sampled_from(["n1", "n2"])), draw(st.sampled_from(M)),
                        approvers, approvers[:done],
                        rejected_by=draw(st.sampled_from([None, None, None, *_APPROVERS])))


@st.composite
def _instances(draw: st.DrawFn) -> list[ApprovalInstance]:
    """Instances of every status, submitted (a running one always) at tied times or not,
    their current step anywhere on their path or past its end."""
    made = []
    for n, instance_id in enumerate(draw(st.lists(_IDS, unique=True, max_size=10))):
        status = draw(st.sampled_from(S))
        steps = tuple(draw(st.lists(_steps(), max_size=3)))
        moments = st.sampled_from(_SUBMISSIONS)
        made.append(sample_instance(
            instance_id, f"K{n}", submitter_id=draw(st.sampled_from(_APPROVERS)),
            submitted_at=draw(moments if status.running else st.none() | moments),
            status=status, steps=steps, current=draw(st.integers(0, len(steps)))))
    return made


def contracts(contract_id: st.SearchStrategy[str] = _IDS) -> st.SearchStrategy[Contract]:
    """Random contracts with every attribute drawn (storable amounts: money up to 13 integer
    digits, so SQLite's REAL keeps them exactly)."""
    optional = st.none() | _IDS
    return st.builds(
        Contract, id=contract_id, number=_IDS, name=_TEXT, customer_id=_IDS, owner_id=optional,
        created_by=optional, created_at=_INSTANTS, updated_at=_INSTANTS,
        version=st.integers(1, 2**31 - 1), opportunity_id=optional, amount=_MONEY,
        order_date=st.none() | _DATES, start_date=st.none() | _DATES,
        end_date=st.none() | _DATES, customer_signer_id=optional, company_signer_id=optional,
        lines=_LINES, order_discount=_PERCENT, approval_status=st.sampled_from(S),
        approval_id=optional, received_amount=_MONEY, unreceived_amount=_MONEY,
        remark=st.none() | _TEXT, next_contact_at=st.none() | _INSTANTS,
        last_followup_at=st.none() | _INSTANTS, last_followup_content=st.none() | _TEXT,
        custom=_CUSTOM,
    )


def payments(payment_id: st.SearchStrategy[str] = _IDS) -> st.SearchStrategy[Payment]:
    """Random payments with every attribute drawn."""
    optional = st.none() | _IDS
    return st.builds(
        Payment, id=payment_id, number=_IDS, contract_id=_IDS, customer_id=_IDS,
        owner_id=optional, created_by=optional, created_at=_INSTANTS, updated_at=_INSTANTS,
        version=st.integers(1, 2**31 - 1), plan_id=optional, paid_on=st.none() | _DATES,
        amount=_MONEY, method=st.none() | _TEXT, approval_status=st.sampled_from(S),
        approval_id=optional, remark=st.none() | _TEXT, next_contact_at=st.none() | _INSTANTS,
        last_followup_at=st.none() | _INSTANTS, last_followup_content=st.none() | _TEXT,
        custom=_CUSTOM,
    )


# -- the contract --------------------------------------------------------------------------------


def _conflict_code(storage: Storage, write: Any) -> str:
    """The code of the Conflict ``write(uow)`` raises in its own transaction."""
    with pytest.raises(Conflict) as caught, storage.transaction() as uow:
        write(uow)
    return caught.value.code


def _effective_sums(items: Sequence[Payment], field: str) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for payment in items:
        key = getattr(payment, field)
        if key is not None and payment.approval_status in EFFECTIVE:
            sums[key] = sums.get(key, Decimal(0)) + payment.amount
    return sums


class ApprovalStorageContract(StorageSuite):
    """Behaviour every storage adapter's approval, sequence and plan repositories must show."""

    examples = 40
    """Hypothesis examples per property test (lower it for slow backends)."""

    # -- flows ---------------------------------------------------------------------------------
    def test_flow_round_trip_keeps_every_node(self, storage: Storage) -> None:
        flow = sample_flow(enabled=False, no_approver=NoApproverPolicy.ADMIN,
                           admin_ids=("u3", "u1"), resubmit_from=ResubmitFrom.REJECTING,
                           version=4)
        with storage.transaction() as uow:
            assert uow.approvals.flow(CONTRACT) is None
            assert uow.approvals.flows() == []
            uow.approvals.put_flow(flow, expected_version=None)
        with storage.transaction() as uow:
            loaded = uow.approvals.flow(CONTRACT)
        assert loaded == flow
        assert loaded is not None
        assert [type(n) for n in loaded.nodes] == [type(n) for n in flow.nodes]
        assert loaded.admin_ids == ("u3", "u1")

    def test_one_flow_per_kind_replaced_at_its_version(self, storage: Storage) -> None:
        first = sample_flow()
        with storage.transaction() as uow:
            uow.approvals.put_flow(sample_flow(PAYMENT, "F2"), expected_version=None)
            uow.approvals.put_flow(first, expected_version=None)
        again = sample_flow(flow_id="F9", name="again")
        assert _conflict_code(storage, lambda uow: uow.approvals.put_flow(
            again, expected_version=None)) == "approval_flow.kind_taken"
        replaced = attrs.evolve(first, name="新流程", nodes=(EndNode("end"),), start="end",
                                version=2)
        with storage.transaction() as uow:
            uow.approvals.put_flow(replaced, expected_version=1)
        assert _conflict_code(storage, lambda uow: uow.approvals.put_flow(
            attrs.evolve(replaced, version=3), expected_version=1)) == "version_conflict"
        assert _conflict_code(storage, lambda uow: uow.approvals.put_flow(
            sample_flow("lead", "F3"), expected_version=1)) == "version_conflict"
        with pytest.raises(Boom), storage.transaction() as uow:
            uow.approvals.put_flow(attrs.evolve(replaced, version=3), expected_version=2)
            uow.approvals.put_flow(sample_flow("lead", "F3"), expected_version=None)
            raise Boom
        with storage.transaction() as uow:
            assert uow.approvals.flow(CONTRACT) == replaced
            assert uow.approvals.flow("lead") is None
            assert [f.kind for f in uow.approvals.flows()] == [CONTRACT, PAYMENT]

    # -- instances -----------------------------------------------------------------------------
    def test_instance_round_trip_keeps_steps_and_history(self, storage: Storage) -> None:
        east = timezone(timedelta(hours=8))
        full = sample_instance(
            "I1", "K1", status=S.REJECTED, flow_version=3, current=1,
            resubmit_from=ResubmitFrom.REJECTING, finished_at=T0 + timedelta(hours=5),
            version=6,
            steps=(
                ApprovalStep("n1", M.SEQUENTIAL, ("u3", "u1"), ("u3", "u1"), comment="好"),
                ApprovalStep("n2", M.ANY, ("u4", "u2"), rejected_by="u2", comment="价格太高"),
                ApprovalStep("n3", M.ALL, ("u8",), by_admin=True),
            ),
            history=(
                ApprovalEvent("u9", ApprovalAction.SUBMIT, T0, "请审批"),
                ApprovalEvent("u3", ApprovalAction.APPROVE, T0 + timedelta(hours=1), step=0,
                              node_id="n1"),
                ApprovalEvent(None, ApprovalAction.AUTO_PASS, T0 + timedelta(hours=2), step=0),
                ApprovalEvent("u2", ApprovalAction.REJECT,
                              (T0 + timedelta(hours=5)).astimezone(east), "价格太高", 1, "n2"),
            ),
        )
        with storage.transaction() as uow:
            uow.approvals.add(full)
            uow.approvals.add(sample_instance("I2", "K2", submitted_at=None, steps=(),
                                              status=S.VOID))
        with storage.transaction() as uow:
            assert uow.approvals.get("I1") == full
            assert uow.approvals.for_record(CONTRACT, "K1") == full
            assert uow.approvals.for_record(PAYMENT, "K1") is None
            assert uow.approvals.get("nope") is None
            bare = uow.approvals.get("I2")
        assert bare == sample_instance("I2", "K2", submitted_at=None, steps=(), status=S.VOID)

    def test_one_instance_per_record(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.approvals.add(sample_instance("I1", "K1"))
        assert _conflict_code(storage, lambda uow: uow.approvals.add(
            sample_instance("I2", "K1"))) == "approval.record_taken"
        assert _conflict_code(storage, lambda uow: uow.approvals.add(
            sample_instance("I1", "K2"))) == "approval.exists"
        with storage.transaction() as uow:
            uow.approvals.add(sample_instance("I3", "K1", record_kind=PAYMENT))
            assert uow.approvals.get("I2") is None
            assert uow.approvals.for_record(CONTRACT, "K2") is None

    def test_update_needs_the_current_version(self, storage: Storage) -> None:
        first = sample_instance("I1", "K1")
        with storage.transaction() as uow:
            uow.approvals.add(first)
        step = ApprovalStep("n2", M.ALL, ("u1", "u2"), ("u2",))
        mine = attrs.evolve(first, steps=(step,), status=S.IN_REVIEW, version=2)
        theirs = attrs.evolve(first, status=S.WITHDRAWN, version=2)
        with storage.transaction() as uow:
            uow.approvals.update(mine, expected_version=1)
        assert _conflict_code(storage, lambda uow: uow.approvals.update(
            theirs, expected_version=1)) == "version_conflict"
        assert _conflict_code(storage, lambda uow: uow.approvals.update(
            sample_instance("nope", "K9", version=2), expected_version=1)) == "version_conflict"
        with storage.transaction() as uow:
            assert uow.approvals.get("I1") == mine
            assert [i.id for i in uow.approvals.waiting_for("u1")] == ["I1"]
            assert uow.approvals.waiting_for("u2") == []

    def test_waiting_for_follows_the_current_step(self, storage: Storage) -> None:
        hour = timedelta(hours=1)
        done = ApprovalStep("n1", M.SEQUENTIAL, ("u1",), ("u1",))
        items = [
            sample_instance("I1", "K1", submitted_at=T0 + 2 * hour,
                            steps=(ApprovalStep("n1", M.SEQUENTIAL, ("u1", "u2")),)),
            sample_instance("I2", "K2", submitted_at=T0 + hour,
                            steps=(ApprovalStep("n2", M.ALL, ("u3", "u1", "u1")),)),
            sample_instance("I3", "K3", submitted_at=T0 + hour, status=S.IN_REVIEW,
                            steps=(done, ApprovalStep("n2", M.ANY, ("u2", "u3"))), current=1),
            sample_instance("I4", "K4", status=S.APPROVED, steps=(done,), current=1),
            sample_instance("I5", "K5", status=S.REJECTED,
                            steps=(ApprovalStep("n1", M.ANY, ("u1", "u3"), rejected_by="u2"),)),
            sample_instance("I6", "K6", status=S.WITHDRAWN),
        ]
        with storage.transaction() as uow:
            for item in items:
                uow.approvals.add(item)
        with storage.transaction() as uow:
            assert [i.id for i in uow.approvals.waiting_for("u1")] == ["I2", "I1"]
            assert [i.id for i in uow.approvals.waiting_for("u3")] == ["I2", "I3"]
            assert [i.id for i in uow.approvals.waiting_for("u3", limit=1)] == ["I2"]
            assert [i.id for i in uow.approvals.waiting_for("u2")] == ["I3"]
            assert uow.approvals.waiting_for("u9") == []
            assert uow.approvals.waiting_for("u1")[1] == items[0]
        # u1 approves I1: the sequential step now waits for u2
        moved = attrs.evolve(items[0], steps=(ApprovalStep("n1", M.SEQUENTIAL, ("u1", "u2"),
                                                           ("u1",)),),
                             status=S.IN_REVIEW, version=2)
        with storage.transaction() as uow:
            uow.approvals.update(moved, expected_version=1)
        with storage.transaction() as uow:
            assert [i.id for i in uow.approvals.waiting_for("u1")] == ["I2"]
            assert [i.id for i in uow.approvals.waiting_for("u2")] == ["I3", "I1"]
        # I1 ends (approved), I2 is withdrawn, I3 voided: nobody waits any more
        ended = [
            (attrs.evolve(moved, steps=(attrs.evolve(moved.steps[0], approved_by=("u1", "u2")),),
                          current=1, status=S.APPROVED, version=3), 2),
            (attrs.evolve(items[1], status=S.WITHDRAWN, version=2), 1),
            (attrs.evolve(items[2], status=S.VOID, version=2), 1),
        ]
        with storage.transaction() as uow:
            for instance, version in ended:
                uow.approvals.update(instance, expected_version=version)
        with storage.transaction() as uow:
            for user in ("u1", "u2", "u3"):
                assert uow.approvals.waiting_for(user) == []
        # a rolled-back update leaves the waiting list as it was
        resubmitted = attrs.evolve(items[1], status=S.PENDING, version=3)
        with pytest.raises(Boom), storage.transaction() as uow:
            uow.approvals.update(resubmitted, expected_version=2)
            assert [i.id for i in uow.approvals.waiting_for("u3")] == ["I2"]
            raise Boom
        with storage.transaction() as uow:
            assert uow.approvals.waiting_for("u3") == []

    def test_submitted_by_newest_first(self, storage: Storage) -> None:
        hour = timedelta(hours=1)
        items = [
            sample_instance("I1", "K1", submitted_at=T0),
            sample_instance("I3", "K3", submitted_at=T0 + hour, status=S.APPROVED, steps=()),
            sample_instance("I2", "K2", submitted_at=T0 + hour, status=S.REJECTED),
            sample_instance("I4", "K4", submitted_at=T0 + 2 * hour, submitter_id="u8"),
            sample_instance("I5", "K5", submitted_at=None, status=S.VOID, steps=()),
        ]
        with storage.transaction() as uow:
            for item in items:
                uow.approvals.add(item)
        with storage.transaction() as uow:
            assert [i.id for i in uow.approvals.submitted_by("u9")] == ["I3", "I2", "I1"]
            assert [i.id for i in uow.approvals.submitted_by("u9", limit=2)] == ["I3", "I2"]
            assert uow.approvals.submitted_by("u8") == [items[3]]
            assert uow.approvals.submitted_by("u1") == []

    def test_waiting_and_submitted_lists_equal_a_python_filter(self, storage: Storage) -> None:
        """待我审批 and 我提交的 for random instances: exactly the ones the port names, in its
        order (ties by id), cut at the limit."""
        def at(instance: ApprovalInstance) -> tuple[datetime, str]:
            assert instance.submitted_at is not None
            return instance.submitted_at, instance.id

        @settings(max_examples=self.examples, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(items=_instances(), limit=st.sampled_from([1, 2, 100]))
        def agree(items: list[ApprovalInstance], limit: int) -> None:
            with self.discarded(storage) as uow:
                for item in items:
                    uow.approvals.add(item)
                for user in (*_APPROVERS, "u9"):
                    waiting = sorted((i for i in items if i.status.running
                                      and i.current_step is not None
                                      and user in i.current_step.waiting_for), key=at)
                    submitted = sorted((i for i in items if i.submitter_id == user
                                        and i.submitted_at is not None), key=at, reverse=True)
                    assert uow.approvals.waiting_for(user, limit=limit) == waiting[:limit]
                    assert uow.approvals.submitted_by(user, limit=limit) == submitted[:limit]

        agree()

    # -- sequences -----------------------------------------------------------------------------
    def test_sequences_count_per_name_and_period(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            assert [uow.sequences.next(CONTRACT, "2026-11-27") for _ in range(3)] == [1, 2, 3]
            assert uow.sequences.next(CONTRACT, "2026-11-28") == 1
            assert uow.sequences.next(PAYMENT, "2026-11-27") == 1
            assert uow.sequences.next(CONTRACT, "") == 1
        with storage.transaction() as uow:
            assert uow.sequences.next(CONTRACT, "2026-11-27") == 4
            assert uow.sequences.next(CONTRACT, "2026-11-28") == 2

    def test_a_rollback_gives_the_value_back(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            assert uow.sequences.next(CONTRACT, "2026") == 1
        with pytest.raises(Boom), storage.transaction() as uow:
            assert uow.sequences.next(CONTRACT, "2026") == 2
            assert uow.sequences.next(CONTRACT, "2027") == 1
            raise Boom
        with storage.transaction() as uow:
            with pytest.raises(Boom), storage.transaction() as inner:  # a savepoint
                assert inner.sequences.next(CONTRACT, "2026") == 2
                raise Boom
            assert uow.sequences.next(CONTRACT, "2026") == 2
            assert uow.sequences.next(CONTRACT, "2027") == 1

    # -- payment plans -------------------------------------------------------------------------
    def test_plans_by_period_and_versioned_update(self, storage: Storage) -> None:
        plans = [
            sample_plan("PL3", period=3, planned_date=date(2027, 3, 1), method="电汇",
                        remind_days=7, remark="尾款"),
            sample_plan("PL1", period=1, amount=Decimal("0.10")),
            sample_plan("PL2", period=2, amount=Decimal("9999999999999.99")),
            sample_plan("PLX", "K2", period=1),
        ]
        with storage.transaction() as uow:
            uow.plans.add_many(plans)
            uow.plans.add_many([])
        assert _conflict_code(storage, lambda uow: uow.plans.add_many(
            [sample_plan("PL4", period=4), sample_plan("PL1")])) == "payment_plan.exists"
        with storage.transaction() as uow:
            assert uow.plans.get("PL3") == plans[0]
            assert uow.plans.get("PL4") is None
            assert uow.plans.for_contracts(["K1"]) == [plans[1], plans[2], plans[0]]
            assert decimal_texts(uow.plans.for_contracts(["K1"])) == decimal_texts(
                [plans[1], plans[2], plans[0]])
            assert uow.plans.for_contracts(["K2", "K9", "K1"]) == [
                plans[1], plans[2], plans[0], plans[3]]
            assert uow.plans.for_contracts(["K9"]) == uow.plans.for_contracts([]) == []
            voided = attrs.evolve(plans[1], voided=True, version=2)
            uow.plans.update(voided, expected_version=1)
        assert _conflict_code(storage, lambda uow: uow.plans.update(
            attrs.evolve(plans[1], version=3), expected_version=1)) == "version_conflict"
        assert _conflict_code(storage, lambda uow: uow.plans.update(
            sample_plan("PL9", version=2), expected_version=1)) == "version_conflict"
        with storage.transaction() as uow:
            assert uow.plans.get("PL1") == voided

    def test_due_plans_by_reminder_day(self, storage: Storage) -> None:
        plans = [
            sample_plan("A", planned_date=date(2026, 12, 10), remind_days=10),  # remind 11-30
            sample_plan("B", planned_date=date(2026, 12, 1)),                   # remind 12-01
            sample_plan("C", planned_date=date(2026, 12, 5), remind_days=4),    # remind 12-01
            sample_plan("D", planned_date=date(2026, 12, 1), remind_days=1, voided=True),
            sample_plan("E", planned_date=date(2026, 12, 2)),                   # remind 12-02
            sample_plan("F", planned_date=date(2026, 11, 1), period=2),         # long past
        ]
        with storage.transaction() as uow:
            uow.records(CONTRACT).add(sample_contract("K1", approval_status=S.APPROVED))
            uow.plans.add_many(plans)
        with storage.transaction() as uow:
            assert [p.id for p in uow.plans.due(date(2026, 12, 1))] == ["F", "B", "C", "A"]
            assert [p.id for p in uow.plans.due(date(2026, 12, 1), limit=2)] == ["F", "B"]
            assert [p.id for p in uow.plans.due(date(2026, 11, 30))] == ["F", "A"]
            assert uow.plans.due(date(2026, 10, 31)) == []
            # moving the planned date moves the reminder
            uow.plans.update(attrs.evolve(plans[5], planned_date=date(2027, 1, 1), version=2),
                             expected_version=1)
            assert [p.id for p in uow.plans.due(date(2026, 12, 1))] == ["B", "C", "A"]

    def test_due_plans_leave_out_done_plans_and_void_contracts(self, storage: Storage) -> None:
        cents = Decimal("0.01")
        plans = [
            sample_plan("A"),                                        # nothing received
            sample_plan("B"),                                        # partial
            sample_plan("C"),                                        # done exactly
            sample_plan("D", amount=Decimal("0.80")),                # 0.10 + 0.70: done
            sample_plan("E", amount=Decimal("0.60")),                # 0.59 received: partial
            sample_plan("F"),                                        # overpaid: done
            sample_plan("G"),                                        # only ineffective payments
            sample_plan("H", "K2"),                                  # void contract
            sample_plan("I", "K3"),                                  # contract under review
            sample_plan("J", "K9"),                                  # contract not stored
        ]
        paid = [("B", "99.99", S.APPROVED), ("C", "60.00", S.APPROVED),
                ("C", "40.00", S.NOT_REQUIRED), ("D", "0.10", S.APPROVED),
                ("D", "0.70", S.NOT_REQUIRED),
                ("E", "0.30", S.APPROVED), ("E", "0.29", S.APPROVED), ("F", "150.00", S.APPROVED),
                *(("G", "100.00", status) for status in S if status not in EFFECTIVE),
                ("A", "1.00", S.DRAFT)]
        with storage.transaction() as uow:
            uow.records(CONTRACT).add_many([
                sample_contract("K1", approval_status=S.APPROVED),
                sample_contract("K2", number="HT-2", approval_status=S.VOID),
                sample_contract("K3", number="HT-3", approval_status=S.IN_REVIEW)])
            uow.plans.add_many(plans)
            uow.records(PAYMENT).add_many([
                sample_payment(f"P{n}", plan_id=plan, amount=Decimal(amount),
                               approval_status=status)
                for n, (plan, amount, status) in enumerate(paid)])
            # a payment of the plan's whole amount on another plan id changes nothing
            uow.records(PAYMENT).add(sample_payment("Q1", plan_id="A9", amount=Decimal(100),
                                                    approval_status=S.APPROVED))
        on = date(2026, 12, 1)
        with storage.transaction() as uow:
            assert [p.id for p in uow.plans.due(on)] == ["A", "B", "E", "G", "I"]
            uow.records(PAYMENT).add(sample_payment("P99", plan_id="B", amount=cents,
                                                    approval_status=S.NOT_REQUIRED))
            assert [p.id for p in uow.plans.due(on)] == ["A", "E", "G", "I"]
            uow.records(CONTRACT).update(
                sample_contract("K1", approval_status=S.VOID, version=2), expected_version=1)
            assert [p.id for p in uow.plans.due(on)] == ["I"]

    def test_due_plans_page_by_planned_date_then_id(self, storage: Storage) -> None:
        day = date(2026, 12, 1)
        plans = [sample_plan(plan_id, planned_date=day + timedelta(days=offset))
                 for plan_id, offset in (("b", 0), ("a", 0), ("c", -1), ("aa", 0), ("z", -2),
                                         ("B", 0), ("中", 0), ("d", 1))]
        with storage.transaction() as uow:
            uow.records(CONTRACT).add(sample_contract("K1", approval_status=S.APPROVED))
            uow.plans.add_many(plans)
        with storage.transaction() as uow:
            assert [p.id for p in uow.plans.due(day)] == ["z", "c", "B", "a", "aa", "b", "中"]
            assert [p.id for p in uow.plans.due(day, after=(day, "a"), limit=2)] == ["aa", "b"]
            assert [p.id for p in uow.plans.due(day, after=(day, "b"))] == ["中"]
            assert [p.id for p in uow.plans.due(day, after=(day - timedelta(days=1), "zz"),
                                                limit=1)] == ["B"]
            assert uow.plans.due(day, after=(day, "中")) == []

    def test_due_plans_equal_a_python_filter_page_by_page(self, storage: Storage) -> None:
        day = date(2026, 12, 1)
        amounts = st.sampled_from(["0.01", "0.10", "0.70", "0.80", "1.00", "2.50"]).map(Decimal)

        @settings(max_examples=self.examples, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(
            statuses=st.lists(st.sampled_from(S), min_size=3, max_size=3),
            ids=st.lists(_IDS, unique=True, max_size=14),
            rows=st.lists(st.tuples(st.sampled_from(["K0", "K1", "K2", "K9"]),
                                    st.integers(-3, 3), st.integers(0, 3), amounts,
                                    st.booleans()), min_size=14, max_size=14),
            paid=st.lists(st.tuples(st.integers(0, 15), st.sampled_from(S), amounts),
                          max_size=25),
            on=st.integers(-4, 4).map(lambda n: day + timedelta(days=n)),
            size=st.integers(1, 4),
        )
        def agree(statuses: list[ApprovalStatus], ids: list[str],
                  rows: list[tuple[str, int, int, Decimal, bool]],
                  paid: list[tuple[int, ApprovalStatus, Decimal]], on: date,
                  size: int) -> None:
            items = [sample_plan(plan_id, contract, planned_date=day + timedelta(days=offset),
                                 remind_days=remind, amount=amount, voided=voided)
                     for plan_id, (contract, offset, remind, amount, voided) in zip(ids, rows,
                                                                                     strict=False)]
            stored = [sample_contract(f"K{n}", number=f"HT-{n}", approval_status=status)
                      for n, status in enumerate(statuses)]
            contract_status = {c.id: c.approval_status for c in stored}
            plan_ids = [*ids, "X1", "X2"]  # payments against plans that are not stored too
            pays = [sample_payment(f"P{n}", plan_id=plan_ids[which % len(plan_ids)],
                                   approval_status=status, amount=amount)
                    for n, (which, status, amount) in enumerate(paid)]
            received = _effective_sums(pays, "plan_id")
            expected = sorted(
                (p for p in items if plan_due(p, on, received.get(p.id, Decimal(0)),
                                              contract_status.get(p.contract_id))),
                key=due_order)
            with self.discarded(storage) as uow:
                uow.records(CONTRACT).add_many(stored)
                uow.plans.add_many(items)
                uow.records(PAYMENT).add_many(pays)
                assert uow.plans.due(on) == expected
                pages: list[list[PaymentPlan]] = []
                after: tuple[date, str] | None = None
                while True:
                    page = uow.plans.due(on, after=after, limit=size)
                    assert page == expected[len(pages) * size:(len(pages) + 1) * size]
                    if not page:
                        break
                    pages.append(page)
                    after = (page[-1].planned_date, page[-1].id)
                assert [p for page in pages for p in page] == expected

        agree()

    # -- received sums -------------------------------------------------------------------------
    def test_received_counts_only_effective_payments(self, storage: Storage) -> None:
        amounts = {status: Decimal(f"{n}.{n:02d}") for n, status in enumerate(S, start=1)}
        items = [sample_payment(f"P{status.value}", "K1", amount=amount, approval_status=status,
                                plan_id="PL1" if n % 2 else None)
                 for n, (status, amount) in enumerate(amounts.items())]
        items += [sample_payment("Q1", "K2", amount=Decimal("0.01"), approval_status=S.DRAFT),
                  sample_payment("Q2", "K3", amount=Decimal("0.10"), approval_status=S.APPROVED,
                                 plan_id="PL3")]
        with storage.transaction() as uow:
            uow.records(PAYMENT).add_many(items)
        effective = amounts[S.APPROVED] + amounts[S.NOT_REQUIRED]
        with storage.transaction() as uow:
            by_contract = uow.plans.received_by_contract(["K1", "K2", "K3", "K9"])
            by_plan = uow.plans.received_by_plan(["PL1", "PL3", "PL9"])
            assert uow.plans.received_by_contract([]) == {}
            assert uow.plans.received_by_plan([]) == {}
        assert by_contract == {"K1": effective, "K3": Decimal("0.10")}
        assert (str(by_contract["K1"]), str(by_contract["K3"])) == (str(effective), "0.10")
        odd = [p for n, p in enumerate(items[:len(amounts)]) if n % 2]
        assert by_plan == {"PL1": sum((p.amount for p in odd if p.approval_status in EFFECTIVE),
                                      Decimal(0)), "PL3": Decimal("0.10")}

    def test_received_for_thousands_of_contracts(self, storage: Storage) -> None:
        ids = [f"K{n:05d}" for n in range(2600)]
        with storage.transaction() as uow:
            uow.records(PAYMENT).add_many([
                sample_payment(f"P{n:05d}", ids[n], amount=Decimal(n).scaleb(-2),
                               approval_status=S.APPROVED) for n in range(1, len(ids), 2)])
            found = uow.plans.received_by_contract(ids[::-1])
        assert found == {ids[n]: Decimal(n).scaleb(-2) for n in range(1, len(ids), 2)}

    def test_received_sums_equal_a_python_sum(self, storage: Storage) -> None:
        @settings(max_examples=self.examples, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(
            rows=st.lists(st.tuples(
                st.sampled_from(["K1", "K2", "K3"]), st.sampled_from([None, "PL1", "PL2"]),
                st.sampled_from(S),
                st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999999.99"),
                            places=2),
            ), max_size=25),
            asked=st.lists(st.sampled_from(["K1", "K2", "K3", "K9", "PL1", "PL2", "PL9"]),
                           max_size=7),
        )
        def agree(rows: list[tuple[str, str | None, ApprovalStatus, Decimal]],
                  asked: list[str]) -> None:
            items = [sample_payment(f"P{n}", contract, plan_id=plan, approval_status=status,
                                    amount=amount)
                     for n, (contract, plan, status, amount) in enumerate(rows)]
            by_contract = {k: v for k, v in _effective_sums(items, "contract_id").items()
                           if k in asked}
            by_plan = {k: v for k, v in _effective_sums(items, "plan_id").items() if k in asked}
            with self.discarded(storage) as uow:
                uow.records(PAYMENT).add_many(items)
                assert uow.plans.received_by_contract(asked) == by_contract
                assert uow.plans.received_by_plan(asked) == by_plan

        agree()

    # -- contracts and payments as record kinds ------------------------------------------------
    @pytest.mark.parametrize(("kind", "full", "bare"), [
        (CONTRACT, FULL_CONTRACT, sample_contract("K2")),
        (PAYMENT, FULL_PAYMENT, sample_payment("P2")),
    ])
    def test_record_round_trip_keeps_every_attribute(
        self, storage: Storage, kind: str, full: Any, bare: Any
    ) -> None:
        with storage.transaction() as uow:
            uow.records(kind).add(full)
            uow.records(kind).add(bare)
        with storage.transaction() as uow:
            loaded, loaded_bare = uow.records(kind).get(full.id), uow.records(kind).get(bare.id)
        assert loaded == full
        assert decimal_texts(loaded) == decimal_texts(full)
        assert loaded_bare == bare
        assert type(loaded.approval_status) is ApprovalStatus
        assert loaded.approval_status is full.approval_status

    def test_random_contracts_and_payments_round_trip(self, storage: Storage) -> None:
        @settings(max_examples=self.examples, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(contract=contracts(), payment=payments())
        def round_trip(contract: Contract, payment: Payment) -> None:
            with self.discarded(storage) as uow:
                uow.records(CONTRACT).add(contract)
                uow.records(PAYMENT).add(payment)
                assert decimal_texts(uow.records(CONTRACT).get(contract.id)) == decimal_texts(
                    contract)
                assert uow.records(PAYMENT).get(payment.id) == payment

        round_trip()

    @pytest.mark.parametrize(("kind", "make"), [(CONTRACT, sample_contract),
                                                (PAYMENT, sample_payment)])
    def test_numbers_are_unique(self, storage: Storage, kind: str, make: Any) -> None:
        with storage.transaction() as uow:
            uow.records(kind).add_many([make("X1", number="N-1"), make("X2", number="N-2"),
                                        make("X3", number=None), make("X4", number=None)])
        assert _conflict_code(storage, lambda uow: uow.records(kind).add(
            make("X5", number="N-1"))) == f"{kind}.number_taken"
        assert _conflict_code(storage, lambda uow: uow.records(kind).update(
            make("X2", number="N-1", version=2), expected_version=1)) == f"{kind}.number_taken"
        assert _conflict_code(storage, lambda uow: uow.records(kind).update_many(
            [make("X3", number="N-1", version=2)], [1])) == f"{kind}.number_taken"
        assert _conflict_code(storage, lambda uow: uow.records(kind).update_many(
            [make("X3", number="N-9", version=2), make("X4", number="N-9", version=2)],
            [1, 1])) == f"{kind}.number_taken"
        with storage.transaction() as uow:
            uow.records(kind).update_many([make("X1", number="N-1", version=2),
                                           make("X2", number="N-7", version=2)], [1, 1])
            uow.records(kind).update_many([make("X1", number="N-1", version=3),
                                           make("X2", number="N-2", version=3)], [2, 2])
        with storage.transaction() as uow:
            uow.records(kind).update(make("X2", number="N-3", version=4), expected_version=3)
            uow.records(kind).add(make("X5", number="N-2"))
            uow.records(kind).update(make("X1", number="N-1", version=4, remark="same"),
                                     expected_version=3)
        with storage.transaction() as uow:
            assert uow.records(kind).get("X5") == make("X5", number="N-2")

    @pytest.mark.parametrize("descending", [False, True])
    def test_keyset_pages_by_number_visit_unnumbered_rows_once(
            self, storage: Storage, descending: bool) -> None:
        """Unnumbered rows (None) sort like every nullable field: each row comes once, in the
        order the reference interpreter gives, one row per page."""
        rows = [sample_contract("K1", number=None), sample_contract("K2", number="HT-2"),
                sample_contract("K3", number=None), sample_contract("K4", number="HT-1")]
        with storage.transaction() as uow:
            uow.records(CONTRACT).add_many(rows)
        sort = (SortKey(FieldRef("number", ValueKind.TEXT, True), descending),)
        expected = [r.id for r in page_of(rows, sort, None, 10)]
        seen: list[str] = []
        after: tuple[Any, ...] | None = None
        with storage.transaction() as uow:
            for _ in range(len(rows) + 1):
                page = uow.records(CONTRACT).query(RecordQuery(
                    RecordScope.everything(), sort=sort, limit=1, after=after))
                if not page:
                    break
                seen.append(page[0].id)
                after = cursor_values(page[0], sort)
        assert seen == expected

    def test_approval_status_is_a_queryable_system_field(self, storage: Storage) -> None:
        items = [sample_contract("K1", approval_status=S.APPROVED),
                 sample_contract("K2", approval_status=S.PENDING),
                 sample_contract("K3", approval_status=S.NOT_REQUIRED, amount=Decimal("5.00"))]
        status = FieldRef("approval_status", ValueKind.TEXT, True)
        amount = FieldRef("amount", ValueKind.DECIMAL, True)
        with storage.transaction() as uow:
            uow.records(CONTRACT).add_many(items)
        with storage.transaction() as uow:
            effective = QueryCondition(status, Operator.IN, tuple(sorted(EFFECTIVE)))
            found = uow.records(CONTRACT).query(RecordQuery(RecordScope.everything(),
                                                            (effective,)))
            assert [c.id for c in found] == ["K1", "K3"]
            big = QueryCondition(amount, Operator.GT, Decimal("1"))
            assert uow.records(CONTRACT).count(RecordQuery(RecordScope.everything(),
                                                           (effective, big))) == 1
