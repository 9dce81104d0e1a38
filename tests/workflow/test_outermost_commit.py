"""Notifications and ``crmkit_after_commit`` wait for the OUTERMOST transaction (issue 11 #23).

An operation run inside an outer ``storage.transaction()`` sends nothing until the outer block
commits, and nothing at all when the outer block (or a savepoint around the operation) rolls back.
Same on memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from crmkit import CRM
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.ports import Storage

from .test_plugins import Recorder


class HostError(Exception):
    """The host's own failure after crmkit's call."""


@pytest.fixture
def crm(backend: Storage) -> tuple[CRM, OutboxNotifier, Recorder, dict[str, str]]:
    recorder, notifier = Recorder(), OutboxNotifier()
    crm = CRM(backend, notifier=notifier, plugins=[recorder])
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(admin)[0]
    users = {
        name: crm.org.add_user(admin, {"mobile": mobile, "name": name, "department_id": top.id}).id
        for name, mobile in (("张三", "13900000001"), ("李四", "13900000002"))
    }
    notifier.sent.clear()
    recorder.batches.clear()
    return crm, notifier, recorder, {"admin": admin.id, **users}


def hand_over(crm: CRM, ids: dict[str, str]) -> None:
    crm.org.hand_over(ids["admin"], ids["张三"], ids["李四"])


def test_hand_over_inside_an_outer_transaction_that_rolls_back_sends_nothing(
    crm: tuple[CRM, OutboxNotifier, Recorder, dict[str, str]],
) -> None:
    facade, notifier, recorder, ids = crm
    with pytest.raises(HostError), facade.storage.transaction():
        hand_over(facade, ids)
        assert notifier.sent == [] and recorder.batches == []  # not before the outer commit
        raise HostError
    assert notifier.sent == [] and recorder.batches == []
    assert facade.org.operation_log(ids["admin"], "user", ids["张三"])[0].action != "hand_over"


def test_hand_over_inside_an_outer_transaction_that_commits_sends_once_after_it(
    crm: tuple[CRM, OutboxNotifier, Recorder, dict[str, str]],
) -> None:
    facade, notifier, recorder, ids = crm
    with facade.storage.transaction():
        hand_over(facade, ids)
        with facade.storage.transaction():  # a nested unit that commits hands its effects up
            hand_over(facade, ids)
        assert notifier.sent == []
    assert [n.kind for n in notifier.sent] == ["org.hand_over", "org.hand_over"]
    assert recorder.batches == [["user.hand_over"], ["user.hand_over"]]


def test_a_savepoint_that_rolls_back_drops_only_its_own_notifications(
    crm: tuple[CRM, OutboxNotifier, Recorder, dict[str, str]],
) -> None:
    facade, notifier, recorder, ids = crm
    with facade.storage.transaction():
        hand_over(facade, ids)
        with pytest.raises(HostError), facade.storage.transaction():
            hand_over(facade, ids)
            raise HostError
    assert [n.recipient_id for n in notifier.sent] == [ids["李四"]]
    assert recorder.batches == [["user.hand_over"]]
