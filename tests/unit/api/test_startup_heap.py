"""The API server's heap is frozen while the app runs, after its garbage is freed, and again when full
collections find it has grown, a few times at most."""

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


def _frozen(watched: object) -> bool:
    """Whether the object is out of the collector's generations, which hold every other tracked object."""
    return all(tracked is not watched for tracked in gc.get_objects())


async def _full_collection() -> None:
    """Collect every generation, then give the loop its turn to do what the collection asked of it."""
    gc.collect()
    for _ in range(3):
        await asyncio.sleep(0)


def _while_the_app_runs(
    check: Callable[[], Awaitable[None]],
    *,
    enabled: bool = True,
    many_objects: int = 0,
    refreezes: int = 3,
) -> None:
    async def run() -> None:
        async with frozen_startup_heap(
            enabled=enabled, many_objects=many_objects, refreezes=refreezes
        ):
            await check()

    asyncio.run(run())


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    assert gc.get_freeze_count() == 0
    callbacks = list(gc.callbacks)
    gc.disable()  # only the collections the tests make
    yield
    gc.enable()
    gc.unfreeze()
    assert gc.callbacks == callbacks, "the app left its collection watch behind"


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


def test_many_objects_living_through_a_full_collection_are_frozen_after_it() -> None:
    async def frozen_after_the_collection() -> None:
        built_by_first_calls = [Node() for _ in range(1000)]
        assert not _frozen(built_by_first_calls[-1])
        await _full_collection()
        assert _frozen(built_by_first_calls[-1])

    _while_the_app_runs(frozen_after_the_collection, many_objects=1000)


def test_a_few_objects_living_through_a_full_collection_are_left_in_its_reach() -> None:
    async def not_frozen_again() -> None:
        made_since_start = Node()
        await _full_collection()
        assert not _frozen(made_since_start)

    _while_the_app_runs(not_frozen_again, many_objects=1000)


def test_the_heap_is_frozen_again_a_few_times_at_most() -> None:
    async def frozen_twice_then_left() -> None:
        for frozen_again in (True, True, False, False):
            made = Node()
            await _full_collection()
            assert _frozen(made) is frozen_again

    _while_the_app_runs(frozen_twice_then_left, refreezes=2)


def test_a_full_collection_as_the_app_stops_leaves_the_heap_thawed() -> None:
    async def collect_and_stop() -> None:
        gc.collect()  # its count reaches the loop only after the app has stopped

    _while_the_app_runs(collect_and_stop)
    assert gc.get_freeze_count() == 0


def test_garbage_made_after_a_freeze_is_collected_as_before() -> None:
    async def collected() -> None:
        await _full_collection()
        request_garbage = _garbage_cycle()
        gc.collect()
        assert request_garbage() is None

    _while_the_app_runs(collected)


def test_switched_off_it_leaves_the_collector_alone() -> None:
    async def untouched() -> None:
        await _full_collection()
        assert gc.get_freeze_count() == 0

    _while_the_app_runs(untouched, enabled=False)


def test_a_heap_the_host_froze_is_left_for_the_host_to_thaw() -> None:
    gc.freeze()
    frozen_by_host = gc.get_freeze_count()
    made_since = [Node() for _ in range(1000)]  # frozen as well, were the heap frozen again
    # Frozen objects still go when their last reference does, so the count may fall a little.
    left_by_host = range(frozen_by_host - len(made_since), frozen_by_host + 1)

    async def untouched() -> None:
        await _full_collection()
        assert gc.get_freeze_count() in left_by_host

    _while_the_app_runs(untouched)
    assert gc.get_freeze_count() in left_by_host
