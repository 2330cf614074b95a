"""Render the message templates of a step (mail subject and body, Slack text, SNS subject).

Templates are Jinja, written by whoever writes the job, so they run in Jinja's immutable sandbox:
they can read the payload and nothing else. Their variables are the payload's keys (``{{ name }}``,
``{{ status }}``, ``{{ error }}``, ...; see :data:`~http_trigger.post_processing.payload.PAYLOAD_KEYS`)
and ``payload``, the whole document (``{{ payload | tojson }}``). ``error`` is only set on failure
and renders empty otherwise, so ``{% if error %}`` works in a template shared by both lists.

A template is checked when the job is validated: a syntax error or a variable the payload never
has (a typo such as ``{{ nmae }}``) is refused then, not discovered when the notification fails.
"""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from http_trigger.post_processing.payload import PAYLOAD_KEYS

TEMPLATE_MAX_LENGTH = 10_000
TEMPLATE_VARIABLES: frozenset[str] = frozenset((*PAYLOAD_KEYS, "payload"))


class TemplateRenderError(ValueError):
    """A template failed while rendering; the message names the template and Jinja's reason."""


def _escape_slack(value: Any) -> Any:
    # Slack's mrkdwn gives &, < and > a meaning; text coming from the payload must not.
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


_TEXT = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_HTML = ImmutableSandboxedEnvironment(autoescape=True, keep_trailing_newline=True)
_SLACK = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True, finalize=_escape_slack)
_ENVIRONMENTS: dict[str, ImmutableSandboxedEnvironment] = {"text": _TEXT, "html": _HTML, "slack": _SLACK}


def check_template(source: str) -> str:
    """Return ``source`` if it parses and uses only payload variables; raise ValueError otherwise."""
    try:
        tree = _TEXT.parse(source)
    except TemplateSyntaxError as error:
        raise ValueError(f"template syntax error on line {error.lineno}: {error.message}") from None
    unknown = meta.find_undeclared_variables(tree) - TEMPLATE_VARIABLES
    if unknown:
        raise ValueError(
            f"unknown template variable(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(TEMPLATE_VARIABLES))}"
        )
    return source


def render_template(source: str, payload: dict[str, Any], *, markup: str = "text", what: str) -> str:
    """
    Render ``source`` with the payload's fields.

    :param markup: ``text`` (as written), ``html`` (payload values HTML-escaped) or ``slack``
        (payload values escaped for Slack's mrkdwn).
    :param what: names the template in an error, e.g. ``"subject"``.
    """
    environment = _ENVIRONMENTS[markup]
    try:
        return environment.from_string(source).render({**payload, "payload": payload})
    except Exception as error:  # noqa: BLE001 - any error of a user's template is that template's failure
        raise TemplateRenderError(f"The {what} template failed: {type(error).__name__}: {error}") from None


def single_line(text: str, max_length: int) -> str:
    """Collapse whitespace (newlines included) and cut to ``max_length``: a header, a subject."""
    line = " ".join(text.split())
    return line if len(line) <= max_length else line[: max_length - 1] + "…"

