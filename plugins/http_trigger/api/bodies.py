"""Bound every request body before anything turns it into objects: its size, its arrival, its JSON shape.

FastAPI reads and parses a route's JSON body before any dependency of the route runs, and Python's
parser has no bounds of its own: an integer of more than 4,300 digits makes it raise, a document
nested a thousand levels deep exhausts the recursion of whatever walks it next. So the bounds sit
in front of the whole app, as ASGI middleware: each body is read here once — at most
``[http_trigger] max_body_bytes``, within :data:`BODY_TIMEOUT_SECONDS` — scanned as bytes, and
handed on unchanged. The scan skips the contents of strings, so it costs a few regular-expression
passes, whatever the body holds. A client that goes away before its body is complete gets no
answer and leaves no traceback: there is nobody left to read either.
"""

from __future__ import annotations

import asyncio
import math
import re
from itertools import accumulate

from fastapi import status
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from http_trigger import settings
from http_trigger.api.errors import json_error
from http_trigger.errors import HttpTriggerError

MAX_JSON_DEPTH = 32
MAX_NUMBER_LENGTH = 100
BODY_TIMEOUT_SECONDS = 30

# A JSON string, escapes included; an unterminated one runs to the end of the body.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
# Outside strings only numbers are runs of these characters (true/false/null hold one "e" each).
_LONG_NUMBER = re.compile(rb"[-+.0-9eE]{%d,}" % (MAX_NUMBER_LENGTH + 1))
# Python's parser also takes these, which JSON has not; only a number with an exponent can overflow.
_NOT_A_NUMBER = re.compile(rb"NaN|Infinity")
_EXPONENT_NUMBER = re.compile(rb"[-+.0-9]*[eE][-+0-9]*")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class BodyRefusedError(HttpTriggerError):
    """The body breaks a bound; the message tells the caller which."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def check_json_shape(body: bytes) -> None:
    """Refuse a body nested too deep or holding a number JSON cannot carry; skip strings' contents.

    The bounds are :data:`MAX_JSON_DEPTH` levels and :data:`MAX_NUMBER_LENGTH` characters; ``NaN``,
    ``Infinity`` and numbers beyond a float's range (``1e999``) are no JSON numbers, though Python's
    parser takes them and a response holding one could not be written. Only structure is looked at,
    never validity: a body that is not JSON is the parser's to refuse.
    """
    structure = _STRING.sub(b'""', body)
    if _LONG_NUMBER.search(structure):
        raise BodyRefusedError(
            status.HTTP_400_BAD_REQUEST,
            f"The request body holds a number longer than {MAX_NUMBER_LENGTH} characters",
        )
    if _NOT_A_NUMBER.search(structure):
        raise BodyRefusedError(
            status.HTTP_400_BAD_REQUEST, "The request body holds NaN or Infinity, which JSON has not"
        )
    for number in _EXPONENT_NUMBER.findall(structure):
        if _out_of_range(number):
            raise BodyRefusedError(
                status.HTTP_400_BAD_REQUEST,
                f"The request body holds a number out of range: {number.decode()}",
            )
    brackets = structure.translate(None, _NOT_BRACKETS)
    if max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > MAX_JSON_DEPTH:
        raise BodyRefusedError(
            status.HTTP_400_BAD_REQUEST, f"The request body is nested deeper than {MAX_JSON_DEPTH} levels"
        )


def _out_of_range(number: bytes) -> bool:
    try:
        return not math.isfinite(float(number))
    except ValueError:  # not a number at all: the parser's to refuse
        return False


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """Return the whole body, refusing one over ``limit`` bytes as soon as that shows.

    :raises ClientDisconnect: the client went away before the body was complete.
    """
    declared = Headers(scope=scope).get("content-length", "")
    too_large = BodyRefusedError(
        status.HTTP_413_CONTENT_TOO_LARGE, f"The request body is larger than {limit} bytes"
    )
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class BoundedBodyMiddleware:
    """Read, bound and check each request's body, then pass the request on with the body replayed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await asyncio.wait_for(
                _read_body(scope, receive, settings.max_body_bytes()), BODY_TIMEOUT_SECONDS
            )
            if body:
                check_json_shape(body)
        except ClientDisconnect:
            return
        except TimeoutError:
            late = json_error(
                status.HTTP_408_REQUEST_TIMEOUT,
                f"The request body did not arrive within {BODY_TIMEOUT_SECONDS} seconds",
            )
            await late(scope, receive, send)
            return
        except BodyRefusedError as error:
            await json_error(error.status_code, str(error))(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Give the app the body already read, then the client's further messages (a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
