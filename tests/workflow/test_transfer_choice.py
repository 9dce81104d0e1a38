"""Transferring customers: the caller chooses per kind which related records move along
(``move_related``: contacts, opportunities, contracts with their payments) on memory, SQLite
and PostgreSQL; the deprecated ``cascade`` switch still moves all of them; an unknown kind is
refused before anything moves; the hand-over and the cascade move only what they read."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from crmkit.entities import User
from crmkit.errors import Conflict, ValidationError

from .conftest import Org
from .test_contracts import Deal, approved_contract, deal

__all__ = ["deal"]


def owners(org: Org, deal: Deal, contract: Any, payment: Any) -> dict[str, str | None]:
    crm, boss = org.crm, org.admin
    return {
        "customer": crm.customers.get(boss, deal.customer.id).owner_id,
        "contact": crm.contacts.get(boss, deal.contact.id).owner_id,
        "opportunity": crm.opportunities.get(boss, deal.opportunity.id).owner_id,
        "contract": crm.contracts.get(boss, contract.id).owner_id,
        "payment": crm.payments.get(boss, payment.id).owner_id,
    }


@pytest.fixture
def signed(org: Org, deal: Deal) -> tuple[Any, Any]:
    contract = approved_contract(org, deal)
    payment = org.crm.payments.create(org.rep, {"contract_id": contract.id,
                                                "paid_on": "2026-11-02", "amount": "100"})
    return contract, payment


@pytest.fixture
def other(org: Org) -> User:
    return org.user("13900000012", "李四", org.group, "sales_rep")


def test_transfer_moves_only_the_chosen_kinds(org: Org, deal: Deal, signed: tuple[Any, Any],
                                              other: User) -> None:
    report = org.crm.customers.transfer(org.manager, [deal.customer.id], other.id,
                                        move_related=["contract", "contact"])
    assert report.moved == 1
    assert owners(org, deal, *signed) == {
        "customer": other.id, "contact": other.id, "opportunity": org.rep.id,
        "contract": other.id, "payment": other.id}  # a contract takes its payments along
    log = org.crm.opportunities.operation_log(org.admin, deal.opportunity.id)
    assert "transfer" not in [e.action for e in log]
    [moved] = [e for e in org.crm.contacts.operation_log(org.admin, deal.contact.id)
               if e.action == "transfer"]
    assert [(c.field, c.old, c.new) for c in moved.changes] == [
        ("owner_id", org.rep.id, other.id)]


def test_transfer_without_a_choice_moves_the_customer_alone(
        org: Org, deal: Deal, signed: tuple[Any, Any], other: User) -> None:
    org.crm.customers.transfer(org.manager, [deal.customer.id], other.id)
    assert owners(org, deal, *signed) == {
        "customer": other.id, "contact": org.rep.id, "opportunity": org.rep.id,
        "contract": org.rep.id, "payment": org.rep.id}


def test_the_deprecated_cascade_switch_still_moves_every_kind(
        org: Org, deal: Deal, signed: tuple[Any, Any], other: User) -> None:
    with pytest.warns(DeprecationWarning, match="move_related") as caught:
        org.crm.customers.transfer(org.manager, [deal.customer.id], other.id, cascade=True,
                                   keep_old_owner="read")
    assert caught[0].filename == __file__, "the warning names the caller's line"
    assert set(owners(org, deal, *signed).values()) == {other.id}
    assert org.crm.contacts.get(org.rep, deal.contact.id).id == deal.contact.id, "kept on team"
    with pytest.warns(DeprecationWarning):
        org.crm.customers.transfer(org.manager, [deal.customer.id], org.rep.id, cascade=False)
    assert owners(org, deal, *signed)["contact"] == other.id


def test_an_unknown_kind_is_refused_before_anything_moves(
        org: Org, deal: Deal, signed: tuple[Any, Any], other: User) -> None:
    with pytest.raises(ValidationError) as caught:
        org.crm.customers.transfer(org.manager, [deal.customer.id], other.id,
                                   move_related=["contact", "payment", "lead"])
    assert caught.value.codes == {"$.move_related[1]": "invalid", "$.move_related[2]": "invalid"}
    assert "contact, opportunity, contract" in caught.value.errors[0].message_en
    assert set(owners(org, deal, *signed).values()) == {org.rep.id}
    with pytest.raises(ValidationError) as typed:
        org.crm.customers.transfer(org.manager, [deal.customer.id], other.id,
                                   move_related="contact")  # one text is not a list of kinds
    assert typed.value.codes == {"$.move_related": "type"}


def test_kinds_without_related_records_refuse_every_choice(org: Org, deal: Deal,
                                                           other: User) -> None:
    with pytest.raises(ValidationError) as caught:
        org.crm.opportunities.transfer(org.manager, [deal.opportunity.id], other.id,
                                       move_related=["contact"])
    assert caught.value.codes == {"$.move_related[0]": "invalid"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        org.crm.opportunities.transfer(org.manager, [deal.opportunity.id], other.id,
                                       cascade=True)  # nothing to move along: as before
    assert org.crm.opportunities.get(other, deal.opportunity.id).owner_id == other.id


def rival_moves_after_the_read(monkeypatch: pytest.MonkeyPatch, org: Org, contact_id: str,
                               to: User) -> None:
    """What a concurrent writer does between a read of a customer's (or a user's) contacts and
    the write that follows it: moves one of them (the real race is in test_cascade_races on
    PostgreSQL)."""
    with org.crm.storage.transaction() as uow:
        repo = type(uow.records("contact"))
    original = repo.children_of

    def children_of(self: Any, field: str, parents: Any) -> Any:
        found = original(self, field, parents)
        if self.kind == "contact":
            self.reassign([contact_id], to.id, org.clock.now())
        return found

    monkeypatch.setattr(repo, "children_of", children_of)


def test_a_child_changed_after_the_read_makes_the_transfer_a_conflict(
        org: Org, deal: Deal, other: User, monkeypatch: pytest.MonkeyPatch) -> None:
    crm = org.crm
    rival_moves_after_the_read(monkeypatch, org, deal.contact.id, org.manager)
    with pytest.raises(Conflict) as caught:
        crm.customers.transfer(org.manager, [deal.customer.id], other.id,
                               move_related=["contact"])
    assert caught.value.code == "version_conflict"
    monkeypatch.undo()
    assert crm.customers.get(org.admin, deal.customer.id).owner_id == org.rep.id
    assert crm.contacts.get(org.admin, deal.contact.id).owner_id == org.rep.id


def test_a_record_changed_after_the_hand_over_read_makes_it_a_conflict(
        org: Org, deal: Deal, monkeypatch: pytest.MonkeyPatch) -> None:
    rival_moves_after_the_read(monkeypatch, org, deal.contact.id, org.admin)
    with pytest.raises(Conflict) as caught:
        org.crm.org.hand_over(org.admin, org.rep.id, org.manager.id)
    assert caught.value.code == "version_conflict"
    monkeypatch.undo()
    assert org.crm.contacts.get(org.admin, deal.contact.id).owner_id == org.rep.id
    assert org.crm.customers.get(org.admin, deal.customer.id).owner_id == org.rep.id
    report = org.crm.org.hand_over(org.admin, org.rep.id, org.manager.id)
    assert report.moved["contact"] == 1
