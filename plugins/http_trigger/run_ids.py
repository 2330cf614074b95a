"""Run ids of HTTP-triggered runs: marked, so logs and notifications can tell them apart."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

HTTP_RUN_ID_PREFIX = "http__"


def http_run_id() -> str:
    """Return a run id that marks the run as HTTP-triggered and never collides in a burst."""
    return f"{HTTP_RUN_ID_PREFIX}{datetime.now(timezone.utc).isoformat()}_{secrets.token_hex(4)}"


def is_http_run(run_id: str) -> bool:
    """Tell whether the trigger endpoint created the run ``run_id``."""
    return run_id.startswith(HTTP_RUN_ID_PREFIX)
