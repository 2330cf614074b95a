"""Shared parts of the action tests: moto in-process with fake credentials, and running an operator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from moto import mock_aws

REGION = "us-east-1"


class RecordingTaskInstance:
    """Stands in for the task instance: keeps what the operator pushes to XCom."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@contextmanager
def moto_account(config: dict[str, Any] | None = None) -> Iterator[None]:
    """Run the block on moto in-process, with fake credentials so nothing can reach AWS."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            patch.setenv(name, value)
        with mock_aws(config=config):
            yield


def make_operator(operator_class: type, parameters: dict[str, Any] | None, **kwargs: Any) -> Any:
    """Build the operator as the DAG builder does, checking state without pauses."""
    arguments = {"task_id": "action", "aws_conn_id": None, "region_name": REGION, "waiter_delay": 0, **kwargs}
    return operator_class(parameters=parameters, **arguments)


def run(
    operator_class: type,
    parameters: dict[str, Any] | None,
    *,
    conf: dict[str, Any] | None = None,
    ti: RecordingTaskInstance | None = None,
    **kwargs: Any,
) -> Any:
    """Run the action the way its task does and return the task's result."""
    context: dict[str, Any] = {"dag_run": SimpleNamespace(conf=conf)}
    if ti is not None:
        context["ti"] = ti
    return make_operator(operator_class, parameters, **kwargs).execute(context)
