"""How the Lambda helpers read a function's error answer, which needs no AWS."""

from __future__ import annotations

import json

import pytest

from http_trigger.actions.aws.lambda_function import function_error_details


@pytest.mark.parametrize(
    ("answer", "details"),
    [
        (json.dumps({"errorType": "KeyError", "errorMessage": "'id'"}), "KeyError: 'id'"),
        (json.dumps({"errorMessage": "boom"}), "Error: boom"),
        (json.dumps({"status": "odd"}), '{"status": "odd"}'),
        ("not json", "not json"),
    ],
)
def test_function_error_details(answer, details):
    assert function_error_details(answer) == details
