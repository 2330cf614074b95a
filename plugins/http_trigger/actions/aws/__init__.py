"""AWS look-ups, changes and waits behind the action operators, one module per service.

The Amazon provider keeps AWS calls on its hooks so its operators stay a few lines; these modules
do the same for what a job needs beyond the provider's hooks: choosing resources by tag, checking
them before acting, backups and their rotation, reading answers (a function's error, a command's
output, a task's exit codes), and bounded waits that name what they wait for.
Each function takes the provider hook an operator built (so connection, region and retries are
the provider's), logs naming the resources, and fails with an AirflowException naming them.
"""

from __future__ import annotations

# How much of a command's output or a function's answer goes to the task log and the summary.
LOG_EXCERPT_CHARS = 4000
SUMMARY_EXCERPT_CHARS = 1000


def excerpt(text: str | None, limit: int = LOG_EXCERPT_CHARS) -> str:
    """Return ``text`` cut to ``limit`` characters, saying how much was left out."""
    text = text or ""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"
