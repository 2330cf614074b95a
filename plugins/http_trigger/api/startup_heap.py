"""Keep the API server's long-lived heap out of Python's full garbage collections.

Once Airflow's API server has loaded and served its first calls, its heap holds about a million
objects that live as long as the process: modules, classes, functions, the routes and models of
its apps (the execution API builds its versioned routes on its first call), SQLAlchemy's mappers.
Python's generation-2 collection walks every one of them each time it runs: under a steady stream
of trigger calls about every half minute, for about half a second, during which no request of the
process moves. Those pauses, not either route's own work, decide the 99th percentile of a trigger
call when several callers are at it at once (BENCHMARKS.md).

``gc.freeze()`` moves the objects alive at that moment into the permanent generation, which
collections skip; objects made afterwards are collected as before, and frozen objects are still
freed when their last reference goes (only a reference cycle among them stays for good). Airflow's
DAG processor freezes its heap once it has started; its API server does not. The plugin's app has
the one hook that runs there once everything is built: its lifespan, which the API server enters
after it has built all its apps. It freezes then.

What the first calls build lazily comes later, whenever the first calls come: a minute after start
on a benchmark, hours later on a quiet deployment. So rather than at a set time, the heap is frozen
again once a full collection finds many objects lived through it, as each full collection walks
them all (the 300,000 the first calls build took 80-340 ms on two cores). A few times at most: each
freeze keeps for good the reference cycles among its objects that would die later (a DAG the API
server's cache lets go of an hour on, say), so their number is bounded.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger(__name__)

MANY_LONG_LIVED_OBJECTS = 100_000
REFREEZES = 3


@asynccontextmanager
async def frozen_startup_heap(
    *, enabled: bool, many_objects: int = MANY_LONG_LIVED_OBJECTS, refreezes: int = REFREEZES
) -> AsyncIterator[None]:
    """Freeze the process's heap now, and again when full collections find it has grown, while the app runs.

    Thaws it when the app stops. Leaves the collector alone when the host process has frozen a heap
    of its own: that one is its to thaw.
    """
    if not enabled or gc.get_freeze_count():
        yield
        return
    _freeze("the API server loaded")
    watch = _LongLivedObjectsWatch(asyncio.get_running_loop(), many_objects, refreezes)
    gc.callbacks.append(watch)
    try:
        yield
    finally:
        gc.callbacks.remove(watch)
        watch.close()
        gc.unfreeze()


class _LongLivedObjectsWatch:
    """A ``gc.callbacks`` entry: after each full collection, has the loop count what lived through it.

    The collector calls it in whichever thread allocated last, in the middle of its work, where
    collecting again is not allowed; so it only hands the count, and the freeze, to the event loop.
    Right after a full collection, the oldest generation holds what lived through it.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, many_objects: int, refreezes: int):
        self._loop = loop
        self._many_objects = many_objects
        self._refreezes_left = refreezes
        self._count_pending = False

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info["generation"] != 2 or self._count_pending or not self._refreezes_left:
            return
        self._count_pending = True  # also keeps the freeze's own collection from asking again
        self._loop.call_soon_threadsafe(self._freeze_if_grown)

    def close(self) -> None:
        """Freeze no more: a count handed to the loop before the app stopped then leaves the heap thawed."""
        self._refreezes_left = 0

    def _freeze_if_grown(self) -> None:
        if self._refreezes_left and (long_lived := len(gc.get_objects(generation=2))) >= self._many_objects:
            self._refreezes_left -= 1
            _freeze(
                f"{long_lived} more long-lived objects since ({self._refreezes_left} more such freezes at most)"
            )
        self._count_pending = False


def _freeze(moment: str) -> None:
    """Free the garbage first, so that only live objects are kept out of collections."""
    gc.collect()
    gc.freeze()
    log.info("Left %d objects out of full garbage collections: %s", gc.get_freeze_count(), moment)
