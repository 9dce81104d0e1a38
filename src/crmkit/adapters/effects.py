"""After-commit effects: what a unit of work releases only when the OUTERMOST transaction commits.

A unit of work queues callbacks (notifications, ``crmkit_after_commit``) with ``after_commit``.
They wait on a stack with one level per open transaction: a nested transaction that commits hands
its callbacks to the level around it, one that rolls back drops them, and only the outermost
commit runs them, once each and in the order they were queued. A callback that raises is logged
and does not stop the others. Both storage adapters keep their levels here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("crmkit")

Effect = Callable[[], None]


class PendingEffects:
    """The effects of the open transactions, one list per nesting level (outermost first)."""

    def __init__(self) -> None:
        self._levels: list[list[Effect]] = [[]]

    @property
    def depth(self) -> int:
        """Open nested levels above the outermost one."""
        return len(self._levels) - 1

    def add(self, effect: Effect) -> None:
        """Queue ``effect`` on the innermost open level."""
        self._levels[-1].append(effect)

    def push(self) -> None:
        """A nested transaction (SAVEPOINT) opened."""
        self._levels.append([])

    def release(self) -> None:
        """The innermost nested transaction committed: its effects join the level around it."""
        if len(self._levels) > 1:
            done = self._levels.pop()
            self._levels[-1].extend(done)

    def rollback_level(self) -> None:
        """The innermost nested transaction rolled back: its effects are dropped.

        With no nested level known (it was opened before anyone listened), everything queued
        since was inside it, so everything is dropped.
        """
        if len(self._levels) > 1:
            self._levels.pop()
        else:
            self.drop()

    def drop(self) -> None:
        """The outermost transaction rolled back: nothing is released."""
        self._levels = [[]]

    def take(self) -> list[Effect]:
        """The outermost transaction committed: every queued effect, the stack emptied."""
        effects = [effect for level in self._levels for effect in level]
        self._levels = [[]]
        return effects


def run_effects(effects: list[Effect]) -> None:
    """Run committed effects in order; one that raises is logged and the rest still run."""
    for effect in effects:
        try:
            effect()
        except Exception:
            log.exception("after-commit effect failed")
