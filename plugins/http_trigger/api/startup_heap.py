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
after it has built all its apps. It freezes then, and once more after a warm-up, with what the
first calls have built lazily by then; what a first call builds later stays in the collector's reach.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)

WARM_UP_SECONDS = 60.0


@asynccontextmanager
async def frozen_startup_heap(
    *, enabled: bool, warm_up_seconds: float = WARM_UP_SECONDS
) -> AsyncIterator[None]:
    """Freeze the process's heap now and after the warm-up, while the app runs; thaw it when it stops.

    Leaves the collector alone when the host process has frozen a heap of its own: that one is its
    to thaw.
    """
    if not enabled or gc.get_freeze_count():
        yield
        return
    _freeze("loaded")
    warmed_up = asyncio.get_running_loop().call_later(warm_up_seconds, _freeze, "warmed up")
    try:
        yield
    finally:
        warmed_up.cancel()
        gc.unfreeze()


def _freeze(moment: str) -> None:
    """Free the garbage first, so that only live objects are kept out of collections."""
    gc.collect()
    gc.freeze()
    log.info(
        "Left %d objects out of full garbage collections, the API server %s", gc.get_freeze_count(), moment
    )
