"""跟进记录 The timeline of a record as one pure merge: order, roll-up, filter, keyset pages.

- Items come from the record itself and from the records it gathers (a customer's contacts,
  opportunities and contracts); each keeps its ``source``.
- An item reached through several sources (a task related to a customer and to its contact)
  is listed once: with the record itself as its source when it is among them, else with the
  first source in (kind, id) order.
- Newest first: by time, then item kind, then item id, all descending — a total order, so a
  keyset cursor (:class:`~crmkit.entities.timeline.TimelineKey`) pages without gaps or
  repeats even when items share a time.
- A category filter keeps the chosen categories (沟通/日志/日程/任务/审批); none chosen keeps all.
  Items the viewer may not see are left out before paging, so pages stay full.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Collection, Iterable
from datetime import datetime

from crmkit.entities.records import RecordRef
from crmkit.entities.timeline import TimelineCategory, TimelineItem, TimelineKey
from crmkit.errors import ValidationError
from crmkit.policies.arguments import datetime_problem, is_id

__all__ = ["MAX_PAGE", "decode_cursor", "encode_cursor", "timeline_page"]

MAX_PAGE = 200
_MAX_CURSOR = 512


def encode_cursor(key: TimelineKey) -> str:
    """An opaque cursor for the page after the item with ``key``."""
    body = json.dumps([key.at.isoformat(), key.kind, key.id], separators=(",", ":"),
                      ensure_ascii=False)
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> TimelineKey:
    """The key a cursor names; anything else is ``$.cursor`` ``invalid``."""
    try:
        if len(cursor) > _MAX_CURSOR:
            raise ValueError("cursor too long")
        at, kind, item_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(at)
        if not (is_id(kind) and is_id(item_id)) or datetime_problem(moment):
            raise ValueError("cursor values")
        return TimelineKey(moment, kind, item_id)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ValidationError.at("$.cursor", "invalid", "取值无效", "is invalid") from None


def _source_rank(root: RecordRef, item: TimelineItem) -> tuple[bool, RecordRef]:
    return item.source != root, item.source


def timeline_page(root: RecordRef, items: Iterable[TimelineItem], *, limit: int = 50,
                  after: TimelineKey | None = None,
                  categories: Collection[TimelineCategory] = (),
                  may_see: Callable[[TimelineItem], bool] | None = None,
                  ) -> tuple[list[TimelineItem], TimelineKey | None]:
    """One page of ``root``'s timeline and the key to continue after (None on the last page)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError.at("$.limit", "invalid", f"须在 1..{MAX_PAGE} 之间",
                                 f"must be 1..{MAX_PAGE}")
    chosen = frozenset(categories)
    best: dict[tuple[str, str], TimelineItem] = {}
    for item in items:
        if chosen and item.category not in chosen:
            continue
        if after is not None and not item.key < after:
            continue
        if may_see is not None and not may_see(item):
            continue
        known = best.get((item.item.kind, item.item.id))
        if known is None or _source_rank(root, item) < _source_rank(root, known):
            best[(item.item.kind, item.item.id)] = item
    ordered = sorted(best.values(), key=lambda i: i.key, reverse=True)
    page = ordered[:limit]
    return page, (page[-1].key if len(ordered) > limit else None)
