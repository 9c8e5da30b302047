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
    collector = IdleCollector(idle_s=1.0, clock=clock)
    yield collector, clock
    collector.stop()


def test_garbage_frozen_at_start_is_reclaimed_at_the_first_pause(collector) -> None:
    collector, clock = collector
    node = Node()
    ref = weakref.ref(node)
    collector.start()
    assert gc.get_freeze_count() > 0
    del node
    gc.collect()
    assert ref() is not None  # frozen: a full collection mid-step does not walk it

    collector.touch()
    clock.now += 0.5
    assert not collector.tick()  # the user is still at it
    assert ref() is not None
    clock.now += 0.6
    assert collector.tick()
    assert ref() is None
    assert collector.collections == 1
    assert gc.get_freeze_count() > 0  # the survivors are frozen again


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
