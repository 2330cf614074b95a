"""Tell the audit who asks for a change, from which address and through which channel.

The pages call the same JSON API as scripts do, so the channel cannot be told from the route: the
pages say it, declaratively, in :data:`CHANNEL_HEADER` (``page``), which every request of their API
client carries; a request without it comes from the API (a script). Like the address, the channel
describes the request, it grants nothing: a script may claim to be a page, never to be someone else.
"""

from __future__ import annotations

from typing import Annotated, Literal

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, Header, Request

from http_trigger.jobs.audit import Actor, Channel

CHANNEL_HEADER = "X-HTTP-Trigger-Channel"


def audit_actor(
    request: Request,
    user: GetUserDep,
    channel: Annotated[
        Literal["page", "api"],
        Header(
            alias=CHANNEL_HEADER,
            description="Where the change is asked from, for the job's audit: page (the plugin's pages) or api.",
        ),
    ] = "api",
) -> Actor:
    """Return the signed-in user, the caller's address (as the trigger records it) and the channel."""
    return Actor(
        user_name=user.get_name(),
        channel=Channel(channel),
        source_address=request.client.host if request.client else None,
    )


AuditActorDep = Annotated[Actor, Depends(audit_actor)]
