"""Say the server's own texts in the user's language: operators' messages, and the models' schemas.

English is written once, where it belongs: each message's rule in :mod:`http_trigger.field_messages`
(or at the validator that raises it), each title and description in its pydantic model. Another
language's file (``<language>.json``) gives, for each rule, its message with the same ``{name}``
placeholders, and for each English title or description of a schema, its translation, keyed by the
English text itself, so a changed English text has no translation until one is written for it
(the tests name it). Nothing here reads a request: the pages and the API say which language they want.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

TRANSLATIONS_FOLDER = Path(__file__).resolve().parent
LANGUAGES = ("en", "ja")
"""The languages the pages and the API speak; the first is the default, and the models' own."""
DEFAULT_LANGUAGE = LANGUAGES[0]
# What a schema holds as data rather than words: examples, defaults and choices stay as they are.
_DATA_KEYS = frozenset({"examples", "default", "const", "enum"})


@cache
def _translations(language: str) -> dict[str, dict[str, str]]:
    if language == DEFAULT_LANGUAGE:
        return {"messages": {}, "schemas": {}}
    return json.loads((TRANSLATIONS_FOLDER / f"{language}.json").read_text(encoding="utf-8"))


def message_translations(language: str) -> dict[str, str]:
    """Return the messages of ``language`` by rule; empty for English, whose messages are the rules' own."""
    return _translations(language)["messages"]


def schema_translations(language: str) -> dict[str, str]:
    """Return the translations of ``language`` of the schemas' English titles and descriptions."""
    return _translations(language)["schemas"]


def translated_text(text: str, language: str) -> str:
    """Return a schema's English ``text`` in ``language``; as it is when there is no translation."""
    return schema_translations(language).get(text, text)


def translated_schema(schema: Any, language: str) -> Any:
    """Return a copy of a JSON schema whose titles and descriptions are in ``language``.

    Only a schema's own ``title`` and ``description`` change: field names, and the values of
    examples, defaults and choices, are what the API takes, in every language.
    """
    if language == DEFAULT_LANGUAGE:
        return schema
    if isinstance(schema, list):
        return [translated_schema(item, language) for item in schema]
    if not isinstance(schema, dict):
        return schema
    translated = {}
    for key, value in schema.items():
        if key in ("title", "description") and isinstance(value, str):
            translated[key] = translated_text(value, language)
        elif key in _DATA_KEYS:
            translated[key] = value
        else:
            translated[key] = translated_schema(value, language)
    return translated


def supported(tag: str | None) -> str | None:
    """Return the supported language a language tag names (``ja-JP`` → ``ja``), or None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def accepted(header: str) -> list[str]:
    """Return the tags of an ``Accept-Language`` header, most wanted first."""
    weighted = []
    for position, item in enumerate(header.split(",")):
        tag, _, quality = item.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        if tag and weight > 0:
            weighted.append((-weight, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def accepted_language(header: str | None) -> str:
    """Return the first supported language of an ``Accept-Language`` header; English when it names none."""
    languages = (language for tag in accepted(header or "") if (language := supported(tag)))
    return next(languages, DEFAULT_LANGUAGE)
