"""The embedded stack's restart policy: how long the supervisor waits before starting a component again."""

from __future__ import annotations

from devstack.stack import RestartPolicy


def test_the_delay_doubles_with_each_fast_failure_up_to_the_cap():
    policy = RestartPolicy(initial_backoff_seconds=1, max_backoff_seconds=30)

    assert [policy.backoff(failures) for failures in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]

