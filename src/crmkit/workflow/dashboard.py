"""仪表盘 Dashboard (``crm.dashboard``): 销售简报, 业绩指标, 销售漏斗, 销售趋势, forgotten and
due customers, rankings — for a subject and a period, never beyond the viewer's scope.

Every call needs the ``dashboard`` module's ``view`` permission (targets: ``edit``); the
subject (:mod:`crmkit.policies.subjects`) must lie inside the viewer's dashboard data scope,
else PermissionDenied ``dashboard.subject_beyond_scope``. Periods are local calendar days in the
organisation's timezone (:mod:`crmkit.policies.periods`). Each figure is a
:class:`~crmkit.entities.statistics.Tally` the storage answers set-based (one aggregate
statement each); only approved contracts and payments count as money.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs

from crmkit.entities import Module, Operation
from crmkit.entities.statistics import (
    Brief,
    Figure,
    Forgotten,
    Funnel,
    Granularity,
    GroupBy,
    Measure,
    Performance,
    Period,
    PeriodKind,
    Ranked,
    StageLine,
    Subject,
    Tally,
    TallyRow,
    Target,
    TargetMeasure,
    Trend,
    TrendPoint,
)
from crmkit.errors import NotFound, PermissionDenied, ValidationError
from crmkit.policies.periods import (
    buckets,
    forgotten_buckets,
    granularity_for,
    period,
    previous,
    window,
    with_previous,
)
from crmkit.policies.reclaim import local_date
from crmkit.policies.statistics import (
    BRIEF_FIGURES,
    FORGOTTEN_DAYS,
    RANKINGS,
    TARGET_MEASURES,
    ZERO,
    change_rate,
    completion_rate,
    target_for,
    weighted,
)
from crmkit.policies.subjects import resolve_subject
from crmkit.policies.validation import field_error
from crmkit.serialization import structure
from crmkit.workflow.operations import ActorRef, Op, Runtime

MAX_CUSTOM_DAYS = 3660
"""Longest custom period (about ten years)."""

SubjectArg = Subject | Mapping[str, Any] | None


@attrs.frozen
class NewTarget:
    year: int
    measure: TargetMeasure
    months: tuple[Decimal, ...]
    user_id: str | None = None
    department_id: str | None = None


@attrs.frozen
class _Asked:
    """One dashboard question: whose figures, the owners they stand for, and the period."""

    subject: Subject
    owner_ids: frozenset[str]
    person_ids: frozenset[str]
    """The owners asked for as persons (the viewer, their team, chosen users)."""
    span: Period
    today: date


def asked_period(today: date, kind: PeriodKind | str, start: date | None, end: date | None
                 ) -> Period:
    """The period a caller asks for, seen on local day ``today``: a named one (no ``start`` /
    ``end``), or a custom range of at most :data:`MAX_CUSTOM_DAYS` days."""
    kind = PeriodKind(kind)
    if kind is not PeriodKind.CUSTOM:
        if start is not None or end is not None:
            raise ValidationError([field_error("$.start" if start else "$.end",
                                               "period.custom_only")])
        return period(kind, today)
    problems = [field_error(f"$.{name}", "required")
                for name, value in (("start", start), ("end", end)) if value is None]
    if start is not None and end is not None:
        if end < start:
            problems.append(field_error("$.end", "range.order"))
        elif (end - start).days >= MAX_CUSTOM_DAYS:
            problems.append(field_error("$.end", "range.max", f" ({MAX_CUSTOM_DAYS})"))
    if problems:
        raise ValidationError(problems)
    return period(kind, today, start, end)


class DashboardService:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    # -- subject and period -----------------------------------------------------------------

    def _period(self, today: date, kind: PeriodKind | str, start: date | None,
                end: date | None) -> Period:
        return asked_period(today, kind, start, end)

    def _ask(self, op: Op, subject: SubjectArg, kind: PeriodKind | str = PeriodKind.THIS_MONTH,
             start: date | None = None, end: date | None = None) -> _Asked:
        """The owners of ``subject`` (PermissionDenied beyond the viewer's scope) and the
        period asked for."""
        wanted = Subject() if subject is None else structure(subject, Subject)
        today = local_date(op.now, self._rt.tz)
        span = self._period(today, kind, start, end)
        scope = self._rt.scope(op, Module.DASHBOARD)
        resolved = resolve_subject(self._rt.org_index(op), op.user_id, wanted,
                                   None if scope.all_records else scope.owner_ids)
        if resolved.beyond:
            names = ", ".join(resolved.beyond)
            raise PermissionDenied("dashboard.subject_beyond_scope",
                                   f"超出数据权限范围：{names}", f"beyond your data scope: {names}",
                                   details={"beyond": list(resolved.beyond)})
        return _Asked(wanted, resolved.owner_ids, resolved.person_ids, span, today)

    def _view(self, actor: ActorRef) -> AbstractContextManager[Op]:
        return self._rt.operation(actor, Module.DASHBOARD, Operation.VIEW)

    # -- 销售简报 -------------------------------------------------------------------------------

    def brief(self, actor: ActorRef, subject: SubjectArg = None,
              period: PeriodKind | str = PeriodKind.THIS_MONTH, start: date | None = None,
              end: date | None = None) -> Brief:
        """Each figure of :data:`~crmkit.policies.statistics.BRIEF_FIGURES` for the period and
        the previous period of the same length, with the change rate (one tally per measure,
        both periods in it)."""
        with self._view(actor) as op:
            asked = self._ask(op, subject, period, start, end)
            spans = with_previous(asked.span, self._rt.tz)
            rows = {measure: _by_bucket(op.uow.statistics.tally(
                        Tally(measure, asked.owner_ids, spans)))
                    for measure in dict.fromkeys(m for _, m, _ in BRIEF_FIGURES)}
            figures = []
            for name, measure, money in BRIEF_FIGURES:
                before, now = (_value(rows[measure].get(i), money) for i in (0, 1))
                figures.append(Figure(name, now, before, change_rate(now, before)))
            return Brief(asked.span, previous(asked.span), tuple(figures))

    def brief_ids(self, actor: ActorRef, figure: str, subject: SubjectArg = None,
                  period: PeriodKind | str = PeriodKind.THIS_MONTH, start: date | None = None,
                  end: date | None = None, *, previous_period: bool = False,
                  after: str | None = None, limit: int = 100) -> list[str]:
        """The ids behind one figure of the brief (of the previous period with
        ``previous_period``), ascending, after ``after`` (keyset paging)."""
        with self._view(actor) as op:
            measures = {name: measure for name, measure, _ in BRIEF_FIGURES}
            if figure not in measures:
                raise ValidationError([field_error("$.figure", "choice",
                                                   f" ({', '.join(measures)})")])
            asked = self._ask(op, subject, period, start, end)
            span = with_previous(asked.span, self._rt.tz)[0 if previous_period else 1]
            return op.uow.statistics.ids(Tally(measures[figure], asked.owner_ids, (span,)),
                                         after=after, limit=limit)

    # -- 业绩指标 -------------------------------------------------------------------------------

    def set_target(self, actor: ActorRef, data: NewTarget | Mapping[str, Any]) -> Target:
        """Set the yearly target (12 monthly values, January first) of one user or one
        department on one measure, replacing the one it had (the ``dashboard`` module's
        ``edit`` permission; the user or department must lie in the actor's scope)."""
        with self._rt.operation(actor, Module.DASHBOARD, Operation.EDIT) as op:
            wanted = structure(data, NewTarget)
            _check_target(wanted)
            if wanted.user_id is not None:
                subject = Subject(user_ids=frozenset({wanted.user_id}))
            else:
                assert wanted.department_id is not None
                subject = Subject(department_ids=frozenset({wanted.department_id}))
            self._ask(op, subject)
            months = tuple(m.quantize(Decimal("0.01")) for m in wanted.months)
            old = next(iter(op.uow.targets.list(year=wanted.year, measure=wanted.measure,
                                                user_id=wanted.user_id,
                                                department_id=wanted.department_id)), None)
            if old is None:
                target = Target(self._rt.ids.new_id(), wanted.year, wanted.measure, months,
                                wanted.user_id, wanted.department_id)
                op.uow.targets.add(target)
                op.log("target", target.id, "create")
            else:
                target = attrs.evolve(old, months=months, version=old.version + 1)
                op.uow.targets.update(target, expected_version=old.version)
                op.log("target", target.id, "update")
            return target

    def targets(self, actor: ActorRef, year: int, subject: SubjectArg = None) -> list[Target]:
        """The targets of ``year`` set for the subject's own users and departments."""
        with self._view(actor) as op:
            asked = self._ask(op, subject)
            return _targets_of(asked, op.uow.targets.list(year=year))

    def _targets(self, op: Op, asked: _Asked, measure: TargetMeasure, first: date,
                 last: date) -> list[Target]:
        found: list[Target] = []
        for year in range(first.year, last.year + 1):
            found += _targets_of(asked, op.uow.targets.list(year=year, measure=measure))
        return found

    def performance(self, actor: ActorRef, measure: TargetMeasure | str,
                    subject: SubjectArg = None,
                    period: PeriodKind | str = PeriodKind.THIS_MONTH, start: date | None = None,
                    end: date | None = None) -> Performance:
        """Approved amount of ``measure`` over the period against the subject's target for it
        (whole months in full, part months pro rata by days) and the completion rate."""
        with self._view(actor) as op:
            measure = TargetMeasure(measure)
            asked = self._ask(op, subject, period, start, end)
            span = window(asked.span, self._rt.tz)
            rows = op.uow.statistics.tally(
                Tally(TARGET_MEASURES[measure], asked.owner_ids, (span,)))
            actual = sum((r.amount for r in rows), ZERO)
            target = target_for(self._targets(op, asked, measure, asked.span.first_day,
                                              asked.span.last_day), span.first_day or date.min,
                                span.end_day)
            return Performance(asked.span, measure, target, actual,
                               completion_rate(actual, target))

    # -- 销售漏斗 and 销售趋势 --------------------------------------------------------------------

    def funnel(self, actor: ActorRef, stage_group_id: str, subject: SubjectArg = None,
               period: PeriodKind | str = PeriodKind.THIS_MONTH, start: date | None = None,
               end: date | None = None) -> Funnel:
        """The opportunities of one stage group created in the period: count and amount per
        stage (in the group's order), won and lost, and the weighted total."""
        with self._view(actor) as op:
            group = op.uow.stage_groups.get(stage_group_id)
            if group is None:
                raise NotFound("stage_group.not_found", "商机组不存在", "no such stage group")
            asked = self._ask(op, subject, period, start, end)
            rows = {r.key: r for r in op.uow.statistics.tally(Tally(
                Measure.OPPORTUNITIES, asked.owner_ids, (window(asked.span, self._rt.tz),),
                GroupBy.STAGE, stage_group_id))}

            def line(key: str | None, name: str, rate: Decimal) -> StageLine:
                row = rows.get(key)
                return StageLine(key, name, rate, row.count if row else 0,
                                 row.amount if row else ZERO)

            stages = tuple(line(s.id, s.name, s.win_rate) for s in group.stages)
            won, lost = line("won", "赢单", Decimal(100)), line("lost", "输单", Decimal(0))
            return Funnel(group.id, asked.span, stages, won, lost,
                          weighted((*stages, won)))

    def trend(self, actor: ActorRef, subject: SubjectArg = None,
              period: PeriodKind | str = PeriodKind.THIS_YEAR, start: date | None = None,
              end: date | None = None, granularity: Granularity | str | None = None) -> Trend:
        """Approved contract and payment amounts per day, week or month of the period (by
        default per day up to a month, per week up to a quarter, else per month) against the
        subject's targets."""
        with self._view(actor) as op:
            asked = self._ask(op, subject, period, start, end)
            cut = Granularity(granularity) if granularity else granularity_for(asked.span)
            spans = buckets(asked.span, cut, self._rt.tz)
            amounts = {m: _by_bucket(op.uow.statistics.tally(
                           Tally(TARGET_MEASURES[m], asked.owner_ids, spans)))
                       for m in TargetMeasure}
            goals = {m: self._targets(op, asked, m, asked.span.first_day, asked.span.last_day)
                     for m in TargetMeasure}
            points = tuple(
                TrendPoint(span.first_day or asked.span.first_day,
                           span.end_day - timedelta(days=1),
                           *(_amount(amounts[m].get(i)) for m in TargetMeasure),
                           *(target_for(goals[m], span.first_day or date.min, span.end_day)
                             for m in TargetMeasure))
                for i, span in enumerate(spans))
            return Trend(asked.span, cut, points)

    # -- reminders and rankings -------------------------------------------------------------

    def forgotten(self, actor: ActorRef, subject: SubjectArg = None) -> list[Forgotten]:
        """How many of the subject's customers went more than 7, 15, 30, 90 and 180 days
        without a follow-up (counted from the later of the last follow-up and the time the
        owner received the customer, as the reclaim rule counts)."""
        with self._view(actor) as op:
            asked = self._ask(op, subject)
            spans = forgotten_buckets(asked.today, FORGOTTEN_DAYS, self._rt.tz)
            counts = _by_bucket(op.uow.statistics.tally(
                Tally(Measure.UNFOLLOWED, asked.owner_ids, spans)))
            found, running = [], 0
            for index, days in enumerate(sorted(FORGOTTEN_DAYS, reverse=True)):
                row = counts.get(index)
                running += row.count if row else 0
                found.append(Forgotten(days, running))
            return found[::-1]

    def forgotten_ids(self, actor: ActorRef, days: int, subject: SubjectArg = None, *,
                      after: str | None = None, limit: int = 100) -> list[str]:
        """Ids of the subject's customers more than ``days`` days without follow-up."""
        with self._view(actor) as op:
            if days < 0:
                raise ValidationError([field_error("$.days", "range.min", " (0)")])
            asked = self._ask(op, subject)
            spans = forgotten_buckets(asked.today, (days,), self._rt.tz)
            return op.uow.statistics.ids(Tally(Measure.UNFOLLOWED, asked.owner_ids, spans),
                                         after=after, limit=limit)

    def due_today(self, actor: ActorRef, subject: SubjectArg = None, *,
                  after: str | None = None, limit: int = 100) -> list[str]:
        """Ids of the subject's customers whose next contact time (下次联系时间) is today."""
        with self._view(actor) as op:
            asked = self._ask(op, subject, PeriodKind.TODAY)
            return op.uow.statistics.ids(
                Tally(Measure.DUE, asked.owner_ids, (window(asked.span, self._rt.tz),)),
                after=after, limit=limit)

    def ranking(self, actor: ActorRef, measure: str, subject: SubjectArg = None,
                period: PeriodKind | str = PeriodKind.THIS_MONTH, start: date | None = None,
                end: date | None = None) -> list[Ranked]:
        """The subject's users ranked by ``measure`` (``contract_amount``, ``payment_amount``,
        ``new_customers``, ``followups``) over the period, highest first; ties share a place
        and are listed by user id; users without any figure rank last with 0."""
        with self._view(actor) as op:
            return self._ranked(op, measure, subject, period, start, end)[1]

    def _ranked(self, op: Op, measure: str, subject: SubjectArg, period: PeriodKind | str,
                start: date | None, end: date | None) -> tuple[Period, list[Ranked]]:
        """The ranking of :meth:`ranking` (also the ranking report's) and its period."""
        if measure not in RANKINGS:
            raise ValidationError([field_error("$.measure", "choice",
                                               f" ({', '.join(RANKINGS)})")])
        source, money = RANKINGS[measure]
        asked = self._ask(op, subject, period, start, end)
        rows = op.uow.statistics.tally(Tally(
            source, asked.owner_ids, (window(asked.span, self._rt.tz),), GroupBy.OWNER))
        values = {r.key: _value(r, money) for r in rows}
        return asked.span, rank({user: values.get(user, ZERO if money else 0)
                                 for user in asked.owner_ids})


def rank(values: Mapping[str, Decimal | int]) -> list[Ranked]:
    """Highest first, ties by user id and sharing a place (1, 2, 2, 4)."""
    ordered = sorted(values.items(), key=lambda item: (-item[1], item[0]))
    ranked: list[Ranked] = []
    for index, (user, value) in enumerate(ordered):
        place = ranked[-1].place if ranked and ranked[-1].value == value else index + 1
        ranked.append(Ranked(place, user, value))
    return ranked


def _by_bucket(rows: Iterable[TallyRow]) -> dict[int, TallyRow]:
    return {row.bucket: row for row in rows}


def _value(row: TallyRow | None, money: bool) -> Decimal | int:
    if row is None:
        return ZERO if money else 0
    return row.amount if money else row.count


def _amount(row: TallyRow | None) -> Decimal:
    return ZERO if row is None else row.amount


def _targets_of(asked: _Asked, targets: Iterable[Target]) -> list[Target]:
    """The targets that stand for the subject: those of its chosen departments and those of
    the persons asked for (the viewer, their team, chosen users)."""
    return [t for t in targets
            if (t.department_id is not None and t.department_id in asked.subject.department_ids)
            or (t.user_id is not None and t.user_id in asked.person_ids)]


def _check_target(wanted: NewTarget) -> None:
    problems = []
    if (wanted.user_id is None) == (wanted.department_id is None):
        problems.append(field_error("$.user_id", "target.one_holder"))
    if not 2000 <= wanted.year <= 2200:
        problems.append(field_error("$.year", "range.max" if wanted.year > 2200 else "range.min",
                                    " (2000..2200)"))
    if len(wanted.months) != 12:
        problems.append(field_error("$.months", "target.twelve_months"))
    problems += [field_error(f"$.months[{i}]", "range.min", " (0)")
                 for i, value in enumerate(wanted.months) if not value.is_finite() or value < 0]
    problems += [field_error(f"$.months[{i}]", "decimal.places", " (2)")
                 for i, value in enumerate(wanted.months)
                 if value.is_finite() and value != value.quantize(Decimal("0.01"))]
    if problems:
        raise ValidationError(problems)

