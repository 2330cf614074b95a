"""Render pydantic validation errors the way users act on them, for specs, bodies and task logs."""

from __future__ import annotations

from pydantic import ValidationError


def describe_validation_error(error: ValidationError, prefix: str | None = None) -> str:
    """Render errors as ``field.path: reason (got value)``, one per field, on one line."""
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in (*([prefix] if prefix else []), *item["loc"])) or "(spec)"
        message = item["msg"].removeprefix("Value error, ")
        got = "" if item["type"] in ("missing", "value_error") else f" (got {item.get('input')!r})"
        lines.append(f"{field}: {message}{got}")
    return "; ".join(lines)
