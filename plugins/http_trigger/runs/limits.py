"""Back-pressure on the trigger: a job's rate limit, and a throttle on addresses that keep failing the token.

Both count what the trigger-call log already records, in the metadata database every API server
shares, so a limit holds across any number of API servers without another service. A job's limit
counts the runs its trigger started in the last window; calls for one rate-limited job take its
registration row's lock while they count, so two servers cannot both let the last call through.
An address's failed calls (unknown URL id or wrong token) are counted before its token is even
checked: beyond the throttle, guessing from that address stops being answered for a while.

Written by hand: Airflow has no rate limiting for its API, and a limiter library would need its
own store (Redis) where the database the API servers share already holds the calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from airflow.sdk.timezone import utcnow
from sqlalchemy import func, select

from http_trigger import settings
from http_trigger.db.models import JobRegistration, TriggerCall
from http_trigger.errors import RateLimitedError
from http_trigger.jobs.model import RATE_PATTERN
from http_trigger.runs.trigger_calls import TriggerOutcome

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600}


@dataclass(frozen=True)
class Rate:
    """At most ``count`` events in any ``window``."""

    count: int
    window: timedelta

    @classmethod
    def parse(cls, text: str) -> Rate:
        """Read ``<count>/<second|minute|hour>``; the job model and the settings refuse anything else."""
        match = RATE_PATTERN.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a rate like '10/minute'")
        return cls(count=int(match[1]), window=timedelta(seconds=_UNIT_SECONDS[match[2]]))


def _seconds_until_room(oldest: datetime, window: timedelta, now: datetime) -> int:
    return max(1, math.ceil((oldest + window - now).total_seconds()))


def _check(session: Session, calls, rate: Rate, message: str, job_id: int | None) -> None:
    """Raise :class:`RateLimitedError` when ``calls`` (a filter on the call log) already hold ``rate.count``."""
    now = utcnow()
    count, oldest = session.execute(
        select(func.count(), func.min(TriggerCall.called_at)).where(*calls, TriggerCall.called_at > now - rate.window)
    ).one()
    if count >= rate.count:
        raise RateLimitedError(message, retry_after=_seconds_until_room(oldest, rate.window, now), job_id=job_id)


def check_job_rate(*, session: Session, job_id: int, rate_limit: str | None) -> None:
    """Refuse a start beyond the job's rate limit (or the default one); hold the job's lock until commit."""
    limit = rate_limit or settings.default_rate_limit()
    if not limit:
        return
    rate = Rate.parse(limit)
    session.execute(select(JobRegistration.id).where(JobRegistration.id == job_id).with_for_update())
    _check(
        session,
        (TriggerCall.job_id == job_id, TriggerCall.outcome == TriggerOutcome.STARTED.value),
        rate,
        f"Job {job_id} may be started at most {limit} by its trigger; try again later",
        job_id,
    )


def check_failed_tokens(*, session: Session, source_address: str | None) -> None:
    """Refuse any call from an address that has failed the token too often lately."""
    limit = settings.failed_token_limit()
    if not limit or not source_address:
        return
    _check(
        session,
        (TriggerCall.source_address == source_address, TriggerCall.outcome == TriggerOutcome.NOT_FOUND.value),
        Rate.parse(limit),
        f"Too many calls with an unknown URL or a wrong token from this address (at most {limit}); try again later",
        None,
    )
