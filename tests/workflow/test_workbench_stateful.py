"""Stateful hypothesis test of the workbench and participants (memory): whatever tasks are
created, moved between columns and reordered, and whoever joins or leaves a task, each user's
columns equal a plain list model (a move inserts the task at its position among the column's
other tasks and changes nothing else; unfiled tasks top the inbox, newest first; leaving a
task takes it off one's columns), and a task's participants are always exactly its team."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from crmkit.entities.tasks import Bucket

BUCKETS = list(Bucket)


class WorkbenchMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
        self.crm = CRM(ids=SequentialIds("w"), clock=self.clock)
        boss = self.crm.org.setup(admin_mobile="13800000000", admin_name="王总")
        top = self.crm.org.list_departments(boss)[0]
        rep = {r.code: r.id for r in self.crm.org.list_roles(boss)}["sales_rep"]
        self.users = [self.crm.org.add_user(boss, {
            "mobile": f"1390000000{i}", "name": f"u{i}", "department_id": top.id,
            "role_ids": [rep]}) for i in range(2)]
        self.tasks: list[tuple[str, int]] = []
        """(task id, owner index), oldest first."""
        self.columns: list[dict[Bucket, list[str]]] = [{b: [] for b in BUCKETS}
                                                       for _ in self.users]
        """Per user: the filed tasks of each column, in order (the model)."""
        self.involved: list[set[str]] = [set() for _ in self.users]

    @rule(owner=st.integers(0, 1), with_other=st.booleans())
    def create(self, owner: int, with_other: bool) -> None:
        other = 1 - owner
        payload = {"title": f"任务{len(self.tasks)}",
                   "participant_ids": [self.users[other].id] if with_other else []}
        task = self.crm.tasks.create(self.users[owner], payload)
        self.clock.advance(seconds=1)
        self.tasks.append((task.id, owner))
        self.involved[owner].add(task.id)
        if with_other:
            self.involved[other].add(task.id)

    @precondition(lambda self: self.tasks)
    @rule(data=st.data(), user=st.integers(0, 1), bucket=st.sampled_from(BUCKETS))
    def move(self, data: st.DataObject, user: int, bucket: Bucket) -> None:
        mine = sorted(self.involved[user])
        if not mine:
            return
        task_id = data.draw(st.sampled_from(mine))
        columns = self.columns[user]
        for column in columns.values():
            if task_id in column:
                column.remove(task_id)
        position = data.draw(st.integers(0, len(columns[bucket])))
        self.crm.workbench.move(self.users[user], task_id, bucket, position)
        columns[bucket].insert(position, task_id)

    @precondition(lambda self: self.tasks)
    @rule(data=st.data(), join=st.booleans(), by_team=st.booleans())
    def participants(self, data: st.DataObject, join: bool, by_team: bool) -> None:
        task_id, owner = data.draw(st.sampled_from(self.tasks))
        other = 1 - owner
        service = self.crm.tasks
        member = task_id in self.involved[other]
        if join and not member:
            service.add_team_member(self.users[owner], task_id, self.users[other].id)
            self.involved[other].add(task_id)
        elif not join and member:
            if by_team:
                service.remove_team_member(self.users[owner], task_id, self.users[other].id)
            else:
                service.update(self.users[owner], task_id, {"participant_ids": []})
            self.involved[other].discard(task_id)
            for column in self.columns[other].values():   # off their workbench
                if task_id in column:
                    column.remove(task_id)

    @invariant()
    def columns_follow_the_model(self) -> None:
        for user, model in zip(self.users, self.columns, strict=True):
            index = self.users.index(user)
            shown = {b: [t.id for t in ts]
                     for b, ts in self.crm.workbench.workbench(user).items()}
            filed = {t for column in model.values() for t in column}
            unfiled = [t for t, _ in reversed(self.tasks)
                       if t in self.involved[index] and t not in filed]
            expected = {b: list(model[b]) for b in BUCKETS}
            expected[Bucket.INBOX] = unfiled + expected[Bucket.INBOX]
            assert shown == expected

    @invariant()
    def participants_are_the_team(self) -> None:
        for task_id, owner in self.tasks:
            task = self.crm.tasks.get(self.users[owner], task_id)
            team = {m.user_id for m in self.crm.tasks.team(self.users[owner], task_id)}
            assert task.participant_ids == team


TestWorkbench = WorkbenchMachine.TestCase
TestWorkbench.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
