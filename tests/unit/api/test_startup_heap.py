"""The API server's heap is frozen while the app runs, after its garbage is freed, and again once warm."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Awaitable, Callable, Iterator

import pytest
from http_trigger.api.startup_heap import frozen_startup_heap


class Node:
    """An object that can be part of a reference cycle and be watched through a weak reference."""

    def __init__(self) -> None:
        self.other: Node | None = None


def _garbage_cycle() -> weakref.ref[Node]:
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def _while_the_app_runs(check: Callable[[], Awaitable[None]], *, enabled: bool = True) -> None:
    async def run() -> None:
        async with frozen_startup_heap(enabled=enabled, warm_up_seconds=0.2):
            await check()

    asyncio.run(run())


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    assert gc.get_freeze_count() == 0
    gc.disable()  # only the collections the tests make
    yield
    gc.enable()
    gc.unfreeze()


def test_the_heap_is_frozen_while_the_app_runs_and_thawed_when_it_stops() -> None:
    async def frozen() -> None:
        assert gc.get_freeze_count() > 1000

    _while_the_app_runs(frozen)
    assert gc.get_freeze_count() == 0


def test_garbage_of_start_up_is_freed_before_the_heap_is_frozen() -> None:
    startup_garbage = _garbage_cycle()

    async def freed() -> None:
        assert startup_garbage() is None

    _while_the_app_runs(freed)


def _frozen(watched: object) -> bool:
    """Whether the object is out of the collector's generations, which hold every other tracked object."""
    return all(tracked is not watched for tracked in gc.get_objects())


def test_objects_made_during_the_warm_up_are_frozen_once_it_is_over() -> None:
    async def frozen_after_warm_up() -> None:
        made_while_warming_up = Node()
        assert not _frozen(made_while_warming_up)
        await asyncio.sleep(0.5)
        assert _frozen(made_while_warming_up)

    _while_the_app_runs(frozen_after_warm_up)


def test_objects_made_once_warm_are_collected_as_before() -> None:
    async def collected() -> None:
        await asyncio.sleep(0.5)
        request_garbage = _garbage_cycle()
        gc.collect()
        assert request_garbage() is None

    _while_the_app_runs(collected)


def test_switched_off_it_leaves_the_collector_alone() -> None:
    async def untouched() -> None:
        await asyncio.sleep(0.5)
        assert gc.get_freeze_count() == 0

    _while_the_app_runs(untouched, enabled=False)


def test_a_heap_the_host_froze_is_left_for_the_host_to_thaw() -> None:
    gc.freeze()
    frozen_by_host = gc.get_freeze_count()
    made_since = [Node() for _ in range(1000)]  # frozen as well, were the heap frozen again
    # Frozen objects still go when their last reference does, so the count may fall a little.
    left_by_host = range(frozen_by_host - len(made_since), frozen_by_host + 1)

    async def untouched() -> None:
        await asyncio.sleep(0.5)
        assert gc.get_freeze_count() in left_by_host

    _while_the_app_runs(untouched)
    assert gc.get_freeze_count() in left_by_host
