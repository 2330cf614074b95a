"""Wait for AWS resources with a boto waiter, logging each check, and fail naming the resources.

The provider's ``wait`` function polls one attempt at a time so every check is logged in the task
log; this wrapper gives all actions the same error text when the resources never get there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.exceptions import WaiterMaxAttemptsError
from airflow.providers.amazon.aws.utils.waiter_with_logging import wait
from airflow.sdk.exceptions import AirflowException

if TYPE_CHECKING:
    from botocore.waiter import Waiter


@dataclass(frozen=True)
class WaitLimits:
    """How a wait polls: seconds between two checks, and checks before giving up.

    One value travels from the operator (where the job's settings live) to the service helpers
    that wait, so no helper needs to know about operators.
    """

    delay: int
    max_attempts: int


def wait_until(
    waiter: Waiter,
    *,
    args: dict[str, Any],
    resources: str,
    final_state: str,
    status_args: list[str],
    limits: WaitLimits,
) -> None:
    """Wait until ``resources`` (e.g. "EC2 instances i-1, i-2") are ``final_state``, or fail naming them."""
    try:
        wait(
            waiter=waiter,
            waiter_delay=limits.delay,
            waiter_max_attempts=limits.max_attempts,
            args=args,
            failure_message=f"{resources} did not become {final_state}",
            status_message=f"Waiting for {resources} to be {final_state}",
            status_args=status_args,
        )
    except WaiterMaxAttemptsError as error:
        raise AirflowException(
            f"{resources} were not all {final_state} after {limits.max_attempts} checks: {error}"
        ) from error
