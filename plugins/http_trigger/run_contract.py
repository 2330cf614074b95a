"""What a job's action task and the post-processing tasks after it agree on within one run.

Actions and post-processing never import each other: both import this. A failing action leaves a
one-line summary of its error under :data:`ERROR_XCOM_KEY`, which the failure steps put in their
payload; each post-processing step runs for one of :data:`RUN_OUTCOMES`.
"""

from __future__ import annotations

ERROR_XCOM_KEY = "error"
"""The XCom key under which a failing action task pushes a one-line summary of its error."""

RUN_OUTCOMES = ("success", "failure")
"""How an action can end, i.e. when a post-processing step may run (``on_success`` / ``on_failure``)."""
