"""Keep URL ids out of the API server's access log: a trigger request is logged as the route template.

Airflow 3.3's API server writes its access log from its own middleware (``HttpAccessLogMiddleware``,
structlog's ``http.access`` logger; uvicorn's ``uvicorn.access`` logger is switched off), which
reads the request's path from the ASGI scope once the request is done. A plain uvicorn server's
access log reads the same scope when the response starts. A logging filter would miss the first:
structlog does not pass through the standard library's filters. So the plugin's app rewrites the
path in the scope itself, once routing is done — when the response starts, and at the latest when
the request ends — to :data:`~http_trigger.urls.TRIGGER_ROUTE`, and every access log, Airflow's or
a server's, records ``POST /http-trigger/trigger/{url_id}``. Any request under the trigger path
is rewritten, whatever its method or answer: a browser's GET of a trigger URL carries the URL id too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from http_trigger.urls import redact_trigger_paths

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


class TriggerPathRedactionMiddleware:
    """ASGI middleware that replaces a trigger request's path by the route template once it is routed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or redact_trigger_paths(scope["path"]) == scope["path"]:
            await self.app(scope, receive, send)
            return

        async def send_redacted(message: Message) -> None:
            if message["type"] == "http.response.start":
                _redact(scope)
            await send(message)

        try:
            await self.app(scope, receive, send_redacted)
        finally:
            _redact(scope)


def _redact(scope: Scope) -> None:
    path = redact_trigger_paths(scope["path"])
    scope["path"] = path
    scope["raw_path"] = path.encode()
