"""Fixtures of the action tests."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from .support import REGION, moto_account


@pytest.fixture
def rds() -> Iterator[object]:
    """Yield an RDS client on moto in-process."""
    with moto_account():
        yield boto3.client("rds", region_name=REGION)
