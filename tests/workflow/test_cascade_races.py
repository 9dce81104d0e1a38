"""A customer transfer's cascade and the user hand-over against a concurrent writer, on real
concurrent PostgreSQL connections (a private schema per test).

The cascade (and the hand-over) first reads the records it will move, then moves them. A
contact transferred by someone else in between — committed while the cascade waits after its
read — is not silently taken back: the cascade's move is conditioned on the version it read,
so the whole transfer fails with ``Conflict`` ``version_conflict`` and the contact keeps the
owner the other writer gave it; the contact's log replays to its stored owner.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from crmkit import CRM
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.adapters.sqlalchemy.records import SqlRecords
from crmkit.entities import User
from crmkit.errors import Conflict

from . import test_approval_concurrency as concurrency
from .test_races import Team, make_team

storage = concurrency.storage
ON_POSTGRES = pytest.mark.parametrize("storage", [pytest.param("postgres",
                                                               marks=pytest.mark.postgres)],
                                      indirect=True)
"""Only PostgreSQL runs two writers at once (a SQLite writer holds the whole database)."""


class PausedAfterRead:
    """Holds the thread that reads a customer's (or a user's) contacts right after that read,
    until :meth:`release`: a rival writer commits in exactly that window."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.read = threading.Event()
        self.go = threading.Event()
        self.thread: int | None = None
        original = SqlRecords.children_of

        def children_of(repo: SqlRecords, field: str, parents: Any) -> Any:
            found = original(repo, field, parents)
            if repo.kind == "contact" and threading.get_ident() == self.thread:
                self.read.set()
                assert self.go.wait(timeout=60), "the rival never committed"
            return found

        monkeypatch.setattr(SqlRecords, "children_of", children_of)

    def run(self, paused: Callable[[], Any], rival: Callable[[], Any]
            ) -> tuple[tuple[str, Any], Any]:
        """Run ``paused`` in a thread, ``rival`` once it has read; both outcomes."""
        outcome: list[tuple[str, Any]] = [("missing", None)]

        def worker() -> None:
            self.thread = threading.get_ident()
            try:
                outcome[0] = ("ok", paused())
            except Exception as error:
                outcome[0] = ("error", error)

        thread = threading.Thread(target=worker)
        thread.start()
        assert self.read.wait(timeout=60), "the paused call never read"
        try:
            rivalled = rival()
        finally:
            self.go.set()
            thread.join(timeout=60)
        assert not thread.is_alive(), "the paused call hung"
        return outcome[0], rivalled


def contact_log_replays(crm: CRM, boss: User, contact_id: str) -> list[str]:
    """Oldest first, each owner change starts from the owner the previous one left, and the
    last one is the stored owner. Returns the actions."""
    stored = crm.contacts.get(boss, contact_id).owner_id
    owner: str | None = None
    actions = []
    for entry in reversed(crm.contacts.operation_log(boss, contact_id)):
        for change in entry.changes:
            if change.field == "owner_id":
                assert entry.action == "create" or change.old == owner, entry
                owner = change.new
        actions.append(entry.action)
    assert owner == stored
    return actions


def customer_with_contact(team: Team) -> tuple[Any, Any]:
    crm, rep = team.crm, team.reps[0]
    customer = crm.customers.create(rep, {"name": "华为"})
    contact = crm.contacts.create(rep, {"name": "王经理", "customer_id": customer.id})
    return customer, contact


@ON_POSTGRES
def test_a_contact_moved_while_the_cascade_waits_is_not_taken_back(
        storage: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    team = make_team(storage)
    crm, rep, a, b = team.crm, team.reps[0], team.reps[1], team.reps[2]
    customer, contact = customer_with_contact(team)
    paused = PausedAfterRead(monkeypatch)
    cascade, rival = paused.run(
        lambda: crm.customers.transfer(team.manager, [customer.id], a.id,
                                       move_related=["contact"]),
        lambda: crm.contacts.transfer(team.manager, [contact.id], b.id))
    assert rival.moved == 1
    assert cascade[0] == "error" and isinstance(cascade[1], Conflict), cascade
    assert cascade[1].code == "version_conflict"
    assert crm.contacts.get(team.boss, contact.id).owner_id == b.id
    assert crm.customers.get(team.boss, customer.id).owner_id == rep.id, "nothing moved"
    assert contact_log_replays(crm, team.boss, contact.id) == ["create", "transfer"]


@ON_POSTGRES
def test_a_record_moved_while_the_hand_over_waits_is_not_taken_back(
        storage: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    team = make_team(storage)
    crm, rep, b = team.crm, team.reps[0], team.reps[2]
    customer, contact = customer_with_contact(team)
    paused = PausedAfterRead(monkeypatch)
    hand_over, rival = paused.run(
        lambda: crm.org.hand_over(team.boss, rep.id, team.manager.id),
        lambda: crm.contacts.transfer(team.manager, [contact.id], b.id))
    assert rival.moved == 1
    assert hand_over[0] == "error" and isinstance(hand_over[1], Conflict), hand_over
    assert crm.contacts.get(team.boss, contact.id).owner_id == b.id
    assert crm.customers.get(team.boss, customer.id).owner_id == rep.id, "nothing moved"
    assert contact_log_replays(crm, team.boss, contact.id) == ["create", "transfer"]
    report = crm.org.hand_over(team.boss, rep.id, team.manager.id)  # tried again: it moves
    assert (report.moved["customer"], report.moved["contact"]) == (1, 0)


@ON_POSTGRES
def test_an_edit_committed_while_the_cascade_waits_fails_the_cascade_not_the_edit(
        storage: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    team = make_team(storage)
    crm, a = team.crm, team.reps[1]
    customer, contact = customer_with_contact(team)
    paused = PausedAfterRead(monkeypatch)
    cascade, edited = paused.run(
        lambda: crm.customers.transfer(team.manager, [customer.id], a.id,
                                       move_related=["contact"]),
        lambda: crm.contacts.update(team.manager, contact.id, {"position": "总监"}))
    assert edited.version == 2
    assert cascade[0] == "error" and isinstance(cascade[1], Conflict), cascade
    kept = crm.contacts.get(team.boss, contact.id)
    assert (kept.position, kept.owner_id, kept.version) == ("总监", team.reps[0].id, 2)
    crm.customers.transfer(team.manager, [customer.id], a.id, move_related=["contact"])
    assert crm.contacts.get(team.boss, contact.id).owner_id == a.id  # tried again: it moves
