"""The pages' languages: one message catalogue per language, and the language a request asks for.

The pages follow the language the user picked in Airflow's UI. Airflow keeps that choice with
i18next, which reads, in order, the ``lng`` query parameter, the ``i18next`` cookie, the local
storage key ``i18nextLng`` and the browser's languages, and takes the first one it supports. Local
storage never reaches the server, so ``language.js`` makes the same choice in the browser and, when
it differs from the page's, keeps it in the cookie :data:`LANGUAGE_COOKIE` and loads the page again:
a page is rendered once, whole, in one language, and its scripts read the same catalogue.

A catalogue (``messages/<language>.json``) maps a key named by meaning to a message whose
``{name}`` placeholders are filled in where it is shown; every catalogue has the keys and the
placeholders of the English one. The texts of the server's models (their schemas, the messages of
their validation) have their translations in :mod:`http_trigger.translations`, and the pages get
them in the page's language. Adding a language is adding its file here and there, and its code to
:data:`~http_trigger.translations.LANGUAGES`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request

from http_trigger.translations import DEFAULT_LANGUAGE, accepted, supported

MESSAGES_FOLDER = Path(__file__).resolve().parent / "messages"
LANGUAGE_COOKIE = "http_trigger_language"
"""Where the browser tells the server the language Airflow's local storage holds (see language.js)."""
AIRFLOW_LANGUAGE_PARAMETER = "lng"
AIRFLOW_LANGUAGE_COOKIE = "i18next"
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@cache
def messages(language: str) -> dict[str, str]:
    """Return the catalogue of ``language``, one of :data:`LANGUAGES`."""
    return json.loads((MESSAGES_FOLDER / f"{language}.json").read_text(encoding="utf-8"))


def request_language(request: Request) -> str:
    """Return the language of the page ``request`` asks for, in i18next's order of detection."""
    candidates = [
        request.query_params.get(AIRFLOW_LANGUAGE_PARAMETER),
        request.cookies.get(AIRFLOW_LANGUAGE_COOKIE),
        request.cookies.get(LANGUAGE_COOKIE),
        *accepted(request.headers.get("accept-language", "")),
    ]
    return next((language for tag in candidates if (language := supported(tag))), DEFAULT_LANGUAGE)


def translate(language: str, key: str, **values: Any) -> Markup:
    """Return the message ``key`` in ``language`` with its placeholders filled, as safe HTML.

    The message's own text is escaped like any value; a value may be markup (``Markup``), so a
    message can hold, say, a ``<code>`` element where it belongs in the sentence.
    """
    message = messages(language).get(key, key)
    parts = PLACEHOLDER.split(message)
    return Markup("").join(
        escape(part) if index % 2 == 0 else escape(values[part]) for index, part in enumerate(parts)
    )

