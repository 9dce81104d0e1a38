"""市场活动 Marketing campaigns (``crm.campaigns``): the campaign record kind and its evaluation.

The shared record engine gives create, get, update, delete, lists, transfer, team and the
operation log on the ``campaigns`` module's permissions (the default sales roles see every
campaign; managers plan and edit them). Every write checks that a campaign does not end before
it starts.

Leads and customers name their campaign (``campaign_id``, a record reference: the writer must
see the campaign, else ``not_found`` at ``$.campaign_id``); conversion hands a lead's campaign to
its customer. The evaluation (:meth:`CampaignService.evaluate`, :meth:`CampaignService.report`)
needs the ``view`` permission on campaigns and on the dashboard: the campaign must be visible
to the viewer, and the records counted are those whose owner lies in the viewer's dashboard data
scope — as every 统计 figure — (a viewer of all data counts pooled customers too; records shared
with the viewer only through a team are not counted). Each figure is one tally by campaign,
whatever the number of campaigns.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import date, timedelta

from crmkit.entities import Module, Operation
from crmkit.entities.campaigns import Campaign, CampaignEvaluation, CampaignReport
from crmkit.entities.query import RecordQuery
from crmkit.entities.statistics import GroupBy, PeriodKind, Tally
from crmkit.errors import ValidationError
from crmkit.policies.campaigns import CAMPAIGN_MEASURES, evaluation, totals
from crmkit.policies.periods import bucket, window
from crmkit.policies.reclaim import local_date
from crmkit.policies.validation import field_error
from crmkit.workflow.dashboard import asked_period
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.record_access import record_not_found
from crmkit.workflow.records import NEWEST, RecordService, query_all

__all__ = ["MAX_CAMPAIGNS", "CampaignService", "running"]

MAX_CAMPAIGNS = 200
"""Campaigns one report evaluates at most."""


def running(campaign: Campaign, first_day: date, last_day: date) -> bool:
    """Whether a campaign's dates reach into ``first_day`` … ``last_day`` (an open start or
    end reaches every day before or after)."""
    return ((campaign.starts_on is None or campaign.starts_on <= last_day)
            and (campaign.ends_on is None or campaign.ends_on >= first_day))


class CampaignService(RecordService[Campaign]):
    """Campaigns through the record engine, plus their evaluation."""

    def _before_write(self, op: Op, record: Campaign, old: Campaign | None) -> Campaign:
        if (record.starts_on is not None and record.ends_on is not None
                and record.ends_on < record.starts_on):
            raise ValidationError([field_error("$.ends_on", "range.order")])
        return record

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(self, actor: ActorRef, campaign_id: str, period: PeriodKind | str | None = None,
                 start: date | None = None, end: date | None = None) -> CampaignEvaluation:
        """What came of one campaign: everything up to today, or what fell in ``period`` (as the
        dashboard's: 本月 …, or ``custom`` from ``start`` to ``end``)."""
        with self._rt.operation(actor, Module.CAMPAIGNS, Operation.VIEW) as op:
            campaign: Campaign = self._access.visible(op, self.kind, campaign_id)
            return self._report(op, [campaign], period, start, end).rows[0]

    def report(self, actor: ActorRef, campaign_ids: Iterable[str] | None = None,
               period: PeriodKind | str | None = None, start: date | None = None,
               end: date | None = None) -> CampaignReport:
        """活动分析: the evaluation of several campaigns as a table with totals — the campaigns
        named (each visible, else NotFound; at most :data:`MAX_CAMPAIGNS`), or the newest
        :data:`MAX_CAMPAIGNS` visible ones running in the period (all without a period)."""
        with self._rt.operation(actor, Module.CAMPAIGNS, Operation.VIEW) as op:
            if campaign_ids is None:
                return self._report(op, None, period, start, end)
            wanted = builtins.list(dict.fromkeys(campaign_ids))
            if len(wanted) > MAX_CAMPAIGNS:
                raise ValidationError([field_error("$.campaign_ids", "range.max",
                                                   f" ({MAX_CAMPAIGNS})")])
            seen = self._access.visible_many(op, self.kind, wanted)
            for campaign_id in wanted:
                if campaign_id not in seen:
                    raise record_not_found(self.declaration, campaign_id)
            return self._report(op, [seen[i] for i in wanted], period, start, end)

    def _report(self, op: Op, campaigns: builtins.list[Campaign] | None,
                period: PeriodKind | str | None, start: date | None, end: date | None
                ) -> CampaignReport:
        op.require(Module.DASHBOARD, Operation.VIEW)
        today = local_date(op.now, self._rt.tz)
        if period is None:
            if start is not None or end is not None:
                raise ValidationError([field_error("$.period", "required")])
            first, last = None, today
            span = bucket(None, today + timedelta(days=1), self._rt.tz)
        else:
            asked = asked_period(today, period, start, end)
            first, last = asked.first_day, asked.last_day
            span = window(asked, self._rt.tz)
        more = False
        if campaigns is None:
            found = [c for c in query_all(self._repo(op), RecordQuery(
                self._rt.scope(op, Module.CAMPAIGNS), (), NEWEST))
                if first is None or running(c, first, last)]
            campaigns, more = found[:MAX_CAMPAIGNS], len(found) > MAX_CAMPAIGNS
        scope = self._rt.scope(op, Module.DASHBOARD)
        owners = None if scope.all_records else scope.owner_ids
        ids = frozenset(c.id for c in campaigns)
        tallies = {measure: op.uow.statistics.tally(
                       Tally(measure, owners, (span,), GroupBy.CAMPAIGN, campaign_ids=ids))
                   for measure in CAMPAIGN_MEASURES} if ids else {}
        rows = tuple(evaluation(c, tallies) for c in campaigns)
        return CampaignReport(first, last, rows, totals(rows), more)

