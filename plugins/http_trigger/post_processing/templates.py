"""Render the message templates of a step (mail subject and body, Slack text, SNS subject).

Templates are Jinja, written by whoever writes the job, so they run in Jinja's immutable sandbox:
they can read the payload and nothing else. Their variables are the payload's keys (``{{ name }}``,
``{{ status }}``, ``{{ error }}``, ...; see :data:`~http_trigger.post_processing.payload.PAYLOAD_KEYS`)
and ``payload``, the whole document (``{{ payload | tojson }}``). ``error`` is only set on failure
and renders empty otherwise, so ``{% if error %}`` works in a template shared by both lists.

A template is checked when the job is validated: a syntax error or a variable the payload never
has (a typo such as ``{{ nmae }}``) is refused then, not discovered when the notification fails.
The check runs in the API server for anyone who may validate a job, so it evaluates nothing:
Jinja's code generator computes constant expressions while it compiles (and
``meta.find_undeclared_variables`` runs it), which made ``{{ 9 ** (9 ** 7) }}`` block the server
for seconds. Powers and repetitions (``**``, ``*``) are bounded when rendering, and a power of
literals beyond the bound is refused by the check already.
"""

from __future__ import annotations

import math
import operator
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.compiler import Frame
from jinja2.meta import TrackingCodeGenerator
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from http_trigger.post_processing.payload import PAYLOAD_KEYS
from http_trigger.field_messages import Rule

TEMPLATE_MAX_LENGTH = 10_000
TEMPLATE_VARIABLES: frozenset[str] = frozenset((*PAYLOAD_KEYS, "payload"))
MAX_NUMBER_BITS = 4096  # about 1,200 digits
MAX_REPEATED_LENGTH = 100_000
_BOUNDED_OPERATORS = {"**": operator.pow, "*": operator.mul}


class TemplateRenderError(ValueError):
    """A template failed while rendering; the message names the template and Jinja's reason."""


def _escape_slack(value: Any) -> Any:
    # Slack's mrkdwn gives &, < and > a meaning; text coming from the payload must not.
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def _bounded_binop(operator_name: str, left: Any, right: Any) -> Any:
    """Compute ``left ** right`` or ``left * right``, refusing a result beyond the bounds beforehand.

    :raises SecurityError: an integer of more than :data:`MAX_NUMBER_BITS` bits, or a string or
        list of more than :data:`MAX_REPEATED_LENGTH` items, would come out.
    """
    numbers = isinstance(left, int) and isinstance(right, int)
    if operator_name == "**" and numbers and right > 0 and abs(left) > 1:
        too_large = right > MAX_NUMBER_BITS or right * math.log2(abs(left)) > MAX_NUMBER_BITS
    elif operator_name == "*" and numbers:
        too_large = left.bit_length() + right.bit_length() > MAX_NUMBER_BITS + 1
    elif operator_name == "*" and isinstance(right, int) and isinstance(left, (str, list, tuple)):
        too_large = len(left) * right > MAX_REPEATED_LENGTH
    elif operator_name == "*" and isinstance(left, int) and isinstance(right, (str, list, tuple)):
        too_large = len(right) * left > MAX_REPEATED_LENGTH
    else:
        too_large = False
    if too_large:
        limit = f"{MAX_NUMBER_BITS} bits" if numbers else f"{MAX_REPEATED_LENGTH} items"
        raise SecurityError(f"the result of {operator_name} would be larger than {limit}")
    return _BOUNDED_OPERATORS[operator_name](left, right)


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with ``**`` and ``*`` bounded; intercepted, they are never folded either."""

    intercepted_binops = frozenset(_BOUNDED_OPERATORS)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        return _bounded_binop(operator, left, right)


_TEXT = _BoundedSandbox(autoescape=False, keep_trailing_newline=True)
_HTML = _BoundedSandbox(autoescape=True, keep_trailing_newline=True)
_SLACK = _BoundedSandbox(autoescape=False, keep_trailing_newline=True, finalize=_escape_slack)
_ENVIRONMENTS: dict[str, ImmutableSandboxedEnvironment] = {"text": _TEXT, "html": _HTML, "slack": _SLACK}


class _VariableFinder(TrackingCodeGenerator):
    """``meta.find_undeclared_variables``' code generator, kept from computing any constant.

    The optimizer folds constants, and so does the output code for each ``{{ … }}`` and
    ``{% autoescape … %}``; here both only look. (These are Jinja's compiler internals, of the
    pinned version.)
    """

    def __init__(self, environment: ImmutableSandboxedEnvironment) -> None:
        super().__init__(environment)
        self.optimizer = None

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        raise nodes.Impossible()

    def visit_EvalContextModifier(  # noqa: N802 - Jinja's name
        self, node: nodes.EvalContextModifier, frame: Frame
    ) -> None:
        for keyword in node.options:
            self.visit(keyword.value, frame)
        frame.eval_ctx.volatile = True


_NOT_CONSTANT = object()


def _constant_value(node: nodes.Node) -> Any:
    """Return the value of a power or repetition of literals, else :data:`_NOT_CONSTANT`; check all below.

    Nothing else is computed, and these only within the bounds: a power of literals beyond them
    raises ``SecurityError`` here, as it would when rendered.
    """
    below = [_constant_value(child) for child in node.iter_child_nodes()]
    if isinstance(node, nodes.Const):
        return node.value
    if not (isinstance(node, nodes.BinExpr) and node.operator in _BOUNDED_OPERATORS):
        return _NOT_CONSTANT
    if any(value is _NOT_CONSTANT for value in below):
        return _NOT_CONSTANT
    try:
        return _bounded_binop(node.operator, *below)
    except (TypeError, ValueError, ArithmeticError):  # it fails when rendered, saying why
        return _NOT_CONSTANT


_SYNTAX_ERROR = Rule("templates.syntax_error", "template syntax error on line {line}: {error}")
_TOO_MUCH = Rule("templates.too_much", "template computes too much: {error}")
_TOO_DEEP = Rule("templates.too_deep", "template nests expressions too deeply")
_UNKNOWN_VARIABLES = Rule(
    "templates.unknown_variables", "unknown template variable(s) {unknown}; known: {known}"
)


def check_template(source: str) -> str:
    """Return ``source`` if it parses and uses only payload variables; raise ValueError otherwise.

    Nothing of the template is evaluated but powers and repetitions of literals, within the bounds.
    """
    finder = _VariableFinder(_TEXT)
    try:
        tree = _TEXT.parse(source)
        _constant_value(tree)
        finder.visit(tree)
    except TemplateSyntaxError as error:
        raise _SYNTAX_ERROR.error(line=error.lineno, error=error.message) from None
    except SecurityError as error:
        raise _TOO_MUCH.error(error=error) from None
    except RecursionError:
        raise _TOO_DEEP.error() from None
    unknown = finder.undeclared_identifiers - TEMPLATE_VARIABLES
    if unknown:
        raise _UNKNOWN_VARIABLES.error(
            unknown=", ".join(sorted(unknown)), known=", ".join(sorted(TEMPLATE_VARIABLES))
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

