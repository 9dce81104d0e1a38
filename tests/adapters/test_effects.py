"""After-commit effects wait on one level per open transaction; the outermost commit runs them."""

from __future__ import annotations

import logging
from functools import partial

import pytest

from crmkit.adapters.effects import PendingEffects, run_effects


def queued(effects: PendingEffects, ran: list[str], *names: str) -> None:
    for name in names:
        effects.add(partial(ran.append, name))


def test_a_released_savepoint_hands_its_effects_to_the_level_around_it_in_order() -> None:
    effects, ran = PendingEffects(), list[str]()
    queued(effects, ran, "a")
    effects.push()
    queued(effects, ran, "b")
    effects.release()
    queued(effects, ran, "c")
    run_effects(effects.take())
    assert ran == ["a", "b", "c"]
    assert effects.take() == []  # released once


def test_a_rolled_back_savepoint_drops_only_its_own_effects() -> None:
    effects, ran = PendingEffects(), list[str]()
    queued(effects, ran, "kept")
    effects.push()
    queued(effects, ran, "dropped")
    effects.push()
    queued(effects, ran, "dropped too")
    effects.release()
    effects.rollback_level()
    run_effects(effects.take())
    assert ran == ["kept"]


def test_rolling_back_a_savepoint_opened_before_anyone_listened_drops_everything() -> None:
    effects, ran = PendingEffects(), list[str]()
    queued(effects, ran, "inside the unknown savepoint")
    effects.rollback_level()
    assert effects.take() == [] and ran == []


def test_an_outermost_rollback_drops_every_level() -> None:
    effects, ran = PendingEffects(), list[str]()
    queued(effects, ran, "a")
    effects.push()
    queued(effects, ran, "b")
    effects.drop()
    assert effects.take() == [] and effects.depth == 0


def test_an_effect_that_raises_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("notifier down")

    with caplog.at_level(logging.ERROR, logger="crmkit"):
        run_effects([broken, lambda: ran.append("after")])
    assert ran == ["after"]
    assert "after-commit effect failed" in caplog.text
