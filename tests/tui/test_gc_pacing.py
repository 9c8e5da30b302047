"""IdleCollector: frozen objects skip collections until the user pauses, then garbage goes."""

from __future__ import annotations

import gc
import weakref

import pytest

from pose3d.tui.gc_pacing import IdleCollector


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


@pytest.fixture
def collector():
    clock = Clock()
    collector = IdleCollector(idle_s=1.0, full_idle_s=5.0, growth=1e9, clock=clock)
    yield collector, clock
    collector.stop()


def test_a_short_pause_reclaims_new_garbage_a_long_one_the_frozen(collector) -> None:
    collector, clock = collector
    old = Node()
    old_ref = weakref.ref(old)
    collector.start()
    assert gc.get_freeze_count() > 0
    del old
    gc.collect()
    assert old_ref() is not None  # frozen: a collection mid-step does not walk it

    collector.touch()
    new = Node()  # garbage a step makes after the freeze
    new_ref = weakref.ref(new)
    del new
    clock.now += 0.5
    assert not collector.tick()  # the user is still at it
    assert new_ref() is not None
    clock.now += 0.6
    assert collector.tick()  # a short pause: the unfrozen objects only
    assert new_ref() is None and old_ref() is not None
    assert (collector.collections, collector.full_collections) == (1, 0)
    clock.now += 2.0
    assert not collector.tick()  # idle 3 s: not yet long enough for everything
    clock.now += 2.0
    assert collector.tick()  # idle 5 s: everything, the frozen cycles too
    assert old_ref() is None and collector.full_collections == 1
    assert gc.get_freeze_count() > 0  # the survivors are frozen again
    clock.now += 60
    assert not collector.tick()  # nothing happened since


def test_frozen_objects_that_grew_too_much_are_collected_at_a_short_pause() -> None:
    clock = Clock()
    collector = IdleCollector(idle_s=1.0, full_idle_s=1e9, growth=1.0, clock=clock)
    try:
        collector.start()
        kept = [Node() for _ in range(100)]  # survivors of the next short pause
        collector.touch()
        clock.now += 1.1
        assert collector.tick() and collector.full_collections == 0  # they are frozen now
        collector.touch()
        clock.now += 1.1
        assert collector.tick() and collector.full_collections == 1  # the frozen set grew
        assert kept
    finally:
        collector.stop()


def test_no_input_no_collection_and_stop_unfreezes(collector) -> None:
    collector, clock = collector
    assert not collector.tick()  # not started
    collector.start()
    clock.now += 10
    assert not collector.tick()  # idle since the start: nothing new to reclaim
    collector.stop()
    assert gc.get_freeze_count() == 0
    collector.touch()
    clock.now += 10
    assert not collector.tick()  # stopped: it never freezes again
    assert gc.get_freeze_count() == 0
