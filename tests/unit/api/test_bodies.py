"""Every route that takes a body refuses one beyond the bounds before parsing it; a client that leaves is let go."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest
from fastapi.testclient import TestClient
from http_trigger.api import bodies
from http_trigger.api.app import create_app

from ..api_support import bearer
from ..jobs_support import EC2

JSON_ROUTES = [
    ("POST", "/trigger/AbCdEf0123456789AbCdEf0123456789"),
    ("POST", "/api/jobs"),
    ("PUT", "/api/jobs/1"),
    ("POST", "/api/jobs/validate"),
    ("POST", "/api/jobs/1/runs"),
    ("PATCH", "/api/jobs/1/enabled"),
]
TOO_DEEP = {"message": "The request body is nested deeper than 32 levels"}
TOO_LONG_A_NUMBER = {"message": "The request body holds a number longer than 100 characters"}


@pytest.fixture
def client(client: TestClient) -> TestClient:
    """The app of ``conftest.py``, called by the admin, logged in."""
    client.headers.update(bearer("admin"))
    return client


def send(client: TestClient, method: str, path: str, content: bytes):
    return client.request(method, path, content=content, headers={"Content-Type": "application/json"})


class TestBoundsOnEveryJsonRoute:
    @pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
    def test_a_body_nested_a_thousand_levels_deep_is_a_400(self, client, method, path):
        response = send(client, method, path, b"[" * 1000 + b"]" * 1000)

        assert (response.status_code, response.json()) == (400, TOO_DEEP)

    @pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
    def test_an_integer_of_5000_digits_is_a_400(self, client, method, path):
        response = send(client, method, path, b'{"name": ' + b"9" * 5000 + b"}")

        assert (response.status_code, response.json()) == (400, TOO_LONG_A_NUMBER)

    @pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
    def test_nan_is_a_400(self, client, method, path):
        response = send(client, method, path, b'{"name": "n", "payload": {"x": NaN}}')

        assert (response.status_code, response.json()) == (
            400,
            {"message": "The request body holds NaN or Infinity, which JSON has not"},
        )

    @pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
    def test_a_body_over_the_size_limit_is_a_413(self, client, method, path):
        response = send(client, method, path, b'{"name": "' + b"x" * (64 * 1024) + b'"}')

        assert (response.status_code, response.json()) == (
            413,
            {"message": "The request body is larger than 65536 bytes"},
        )

    def test_the_bounds_leave_the_body_to_the_route(self, client):
        deep_but_allowed = {"name": "n", "action": {**EC2, "parameters": {"x": json.loads("[" * 29 + "]" * 29)}}}
        brackets_in_strings = {"name": "[" * 50 + "9" * 120, "action": EC2}

        validated = client.post("/api/jobs/validate", json=deep_but_allowed)
        created = client.post("/api/jobs", json=brackets_in_strings)

        assert validated.status_code == 200
        assert validated.json()["problems"][0]["loc"] == ["body", "action", "parameters", "x"]
        assert created.status_code == 201, created.text
        assert created.json()["name"] == "[" * 50 + "9" * 120


class TestCheckJsonShape:
    @pytest.mark.parametrize(
        "body",
        [
            b"[" * 32 + b"]" * 32,
            b'{"a": "' + b"{" * 500 + b'"}',
            b'["\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]',
            b"[true, false, null, 1e5, -2.5E-3, 1.7e308, 5e-999, " + b"1" * 100 + b"]",
            b'{"NaN": "Infinity", "1e999": ["-Infinity"]}',
        ],
    )
    def test_within_the_bounds(self, body):
        bodies.check_json_shape(body)

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"[" * 33, TOO_DEEP["message"]),
            (b'{"a": {"b": ' * 17, TOO_DEEP["message"]),
            (b"[" + b"1" * 101 + b"]", TOO_LONG_A_NUMBER["message"]),
            (b'{"x": -0.' + b"5" * 99 + b"}", TOO_LONG_A_NUMBER["message"]),
            (b'{"x": [1, NaN]}', "The request body holds NaN or Infinity, which JSON has not"),
            (b'{"x": -Infinity}', "The request body holds NaN or Infinity, which JSON has not"),
            (b'{"x": 2.5E+400}', "The request body holds a number out of range: 2.5E+400"),
            (b'"unterminated' + b"[" * 40, None),
        ],
    )
    def test_beyond_the_bounds(self, body, message):
        if message is None:  # inside an unterminated string: the parser's to refuse, not the bounds'
            bodies.check_json_shape(body)
            return
        with pytest.raises(bodies.BodyRefusedError, match=f"^{re.escape(message)}$"):
            bodies.check_json_shape(body)


def call_app(messages: list[dict], *, after_messages=None) -> list[dict]:
    """Send one trigger request straight to the app, the client's side being ``messages``; return the answer."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/trigger/AbCdEf0123456789AbCdEf0123456789",
        "raw_path": b"/trigger/AbCdEf0123456789AbCdEf0123456789",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-length", b"100"), (b"authorization", b"CAAuth secret")],
        "client": ("127.0.0.1", 50000),
        "server": ("trigger.example", 80),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client sends nothing more and stays connected
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(create_app()(scope, receive, send))
    return sent


class TestClientsThatStopSending:
    def test_a_client_that_leaves_mid_body_gets_no_answer_and_leaves_no_error(self, caplog):
        part = {"type": "http.request", "body": b'{"instance_ids": ', "more_body": True}

        with caplog.at_level(logging.DEBUG):
            sent = call_app([part, {"type": "http.disconnect"}])

        assert sent == []
        assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []

    def test_a_body_shorter_than_its_length_is_answered_408_when_its_time_is_up(self, caplog, monkeypatch):
        monkeypatch.setattr(bodies, "BODY_TIMEOUT_SECONDS", 0.2)
        part = {"type": "http.request", "body": b'{"instance_ids": ', "more_body": True}

        with caplog.at_level(logging.DEBUG):
            sent = call_app([part])

        start, body = sent
        assert start["status"] == 408
        assert json.loads(body["body"]) == {"message": "The request body did not arrive within 0.2 seconds"}
        assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []
