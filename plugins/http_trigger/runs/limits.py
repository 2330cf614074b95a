"""Back-pressure on the trigger: a job's rate limit, and a throttle on addresses that keep failing the token.

Both count what the trigger-call log already records, in the metadata database every API server
shares, so a limit holds across any number of API servers without another service. A job's limit
counts the runs its trigger started in the last window; calls for one rate-limited job take its
registration row's lock while they count, so two servers cannot both let the last call through.
An address's failed calls (unknown URL id or wrong token) are counted in the statement that looks
its URL id up, and weighed before its token is: beyond the throttle, guessing from that address
stops being answered for a while.

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
from http_trigger.secrets import trigger_credentials

if TYPE_CHECKING:
    from sqlalchemy import Select
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


def _counted(calls, rate: Rate, now: datetime) -> Select:
    """One row: how many of ``calls`` (a filter on the call log) fall in ``rate``'s window, and the oldest."""
    return select(func.count().label("count"), func.min(TriggerCall.called_at).label("oldest")).where(
        *calls, TriggerCall.called_at > now - rate.window
    )


def _refuse_when_full(
    count: int, oldest: datetime | None, rate: Rate, now: datetime, message: str, job_id: int | None
) -> None:
    """Raise :class:`RateLimitedError` when ``count`` calls already fill ``rate``."""
    if count >= rate.count:
        raise RateLimitedError(message, retry_after=_seconds_until_room(oldest, rate.window, now), job_id=job_id)


def check_job_rate(*, session: Session, job_id: int, rate_limit: str | None) -> None:
    """Refuse a start beyond the job's rate limit (or the default one); hold the job's lock until commit."""
    limit = rate_limit or settings.default_rate_limit()
    if not limit:
        return
    rate = Rate.parse(limit)
    session.execute(select(JobRegistration.id).where(JobRegistration.id == job_id).with_for_update())
    now = utcnow()
    started = (TriggerCall.job_id == job_id, TriggerCall.outcome == TriggerOutcome.STARTED.value)
    count, oldest = session.execute(_counted(started, rate, now)).one()
    message = f"Job {job_id} may be started at most {limit} by its trigger; try again later"
    _refuse_when_full(count, oldest, rate, now, message, job_id)


def find_job_id_unless_throttled(
    *, session: Session, url_id: str, token: str | None, source_address: str | None
) -> int | None:
    """Refuse an address failing the token too often; else find the job of ``url_id`` and ``token``.

    The throttle comes first, so a throttled address learns nothing, not even that a token was
    right. Both questions go to the database as one statement (the address's count, joined with
    the URL id's registration, if any): the trigger asks them on every call.
    """
    limit = settings.failed_token_limit()
    if not limit or not source_address:
        return trigger_credentials.find_job_id(session=session, url_id=url_id, token=token) if token else None
    rate = Rate.parse(limit)
    now = utcnow()
    failed = (
        TriggerCall.source_address == source_address,
        TriggerCall.outcome == TriggerOutcome.NOT_FOUND.value,
    )
    counted = _counted(failed, rate, now).subquery()
    row = session.execute(
        select(counted.c.count, counted.c.oldest, *trigger_credentials.CREDENTIAL_COLUMNS)
        .select_from(counted)
        .outerjoin(JobRegistration, trigger_credentials.live_with_url_id(url_id, now))
    ).first()
    message = (
        "Too many calls with an unknown URL or a wrong token from this address "
        f"(at most {limit}); try again later"
    )
    _refuse_when_full(row.count, row.oldest, rate, now, message, None)
    return trigger_credentials.matching_job_id(row, url_id, token) if token else None
