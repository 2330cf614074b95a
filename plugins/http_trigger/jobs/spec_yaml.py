"""Read the YAML of a job spec at a bounded cost, whoever wrote it.

The DAG factory reads every spec file within Airflow's import timeout, so one file must never
cost more than a bounded amount: it is at most :data:`MAX_SPEC_BYTES`, UTF-8 text, nested at most
:data:`MAX_NESTING` levels, and free of anchors and aliases. Specs never need those, and they are
what a "billion laughs" file multiplies itself with: it is refused at its first anchor, in
microseconds, instead of being expanded by whatever walks the data next.

The parser is libyaml's (``CParser``, about five times faster than the pure-Python one,
which counts at a thousand specs) and the constructor is PyYAML's safe one: no Python tags.
The composer between them is PyYAML's, so each node can be checked before it is built.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml._yaml import CParser
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.error import Mark, MarkedYAMLError
from yaml.resolver import Resolver

from http_trigger.errors import JobSpecError

MAX_SPEC_BYTES = 128 * 1024
MAX_NESTING = 32
WHOLE_FILE = "(file)"


class _Refused(MarkedYAMLError):
    """Valid YAML that a job spec may not use."""

    def __init__(self, problem: str, mark: Mark | None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class SpecLoader(Composer, CParser, SafeConstructor, Resolver):  # type: ignore[misc]
    """PyYAML's safe loader on libyaml's parser, refusing anchors, aliases and deep nesting."""

    def __init__(self, stream: bytes | str) -> None:
        CParser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        # An alias event carries the name it refers to as its ``anchor``: one check refuses both.
        if getattr(event, "anchor", None) is not None:
            raise _Refused(
                "anchors and aliases (&name, *name) are not allowed in job specs", event.start_mark
            )
        if self._depth >= MAX_NESTING:
            raise _Refused(f"nested deeper than {MAX_NESTING} levels", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _where(mark: Mark | None) -> str:
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""


def _one_line(error: yaml.YAMLError) -> str:
    """Say what is wrong and where on one line; PyYAML's own text spans several."""
    if isinstance(error, MarkedYAMLError) and error.problem:
        context = f"{error.context}{_where(error.context_mark)}: " if error.context else ""
        return f"{context}{error.problem}{_where(error.problem_mark)}"
    return " ".join(str(error).split())


def parse_spec_yaml(content: bytes | str, *, source: str) -> Any:
    """Return the data of a spec file's content, or raise :class:`JobSpecError` saying why not."""
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogateescape")
    if len(content) > MAX_SPEC_BYTES:
        raise JobSpecError(
            source, (WHOLE_FILE, f"larger than {MAX_SPEC_BYTES // 1024} KiB, the most a job spec may be")
        )
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JobSpecError(
            source, (WHOLE_FILE, f"not UTF-8 text (byte {error.start} is {content[error.start]:#04x})")
        ) from None
    try:
        return yaml.load(content, Loader=SpecLoader)  # noqa: S506 - SpecLoader is a safe loader
    except _Refused as error:
        raise JobSpecError(source, (WHOLE_FILE, _one_line(error))) from None
    except yaml.YAMLError as error:
        raise JobSpecError(source, (WHOLE_FILE, f"not valid YAML: {_one_line(error)}")) from None
    except ValueError as error:
        # e.g. an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise JobSpecError(source, (WHOLE_FILE, f"a value cannot be read: {error}")) from None
