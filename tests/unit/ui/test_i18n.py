"""The pages' message catalogues and the choice of language, as i18next makes it for Airflow's UI."""

from __future__ import annotations

import re

import pytest
from http_trigger.translations import LANGUAGES
from http_trigger.ui.i18n import LANGUAGE_COOKIE, MESSAGES_FOLDER, messages, request_language, translate
from http_trigger.ui.pages import STATIC_FOLDER, UI_FOLDER
from markupsafe import Markup
from starlette.requests import Request

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# A key as the templates (t('…')) and the scripts (t("…"), tParts, tCount) name it literally.
TEMPLATE_KEY = re.compile(r"""\bt\('([a-z_.]+)'""")
SCRIPT_KEY = re.compile(r"""\bt(?:Parts|Count)?\("([a-z_.]+)\"""")
SHOW_ERROR_KEY = re.compile(r"""\bshowError\(error, "([a-z_.]+)\"""")


def request(*, query: str = "", cookies: dict[str, str] | None = None, accept: str | None = None) -> Request:
    headers = [(b"accept-language", accept.encode())] if accept else []
    if cookies:
        headers.append((b"cookie", "; ".join(f"{name}={value}" for name, value in cookies.items()).encode()))
    return Request({"type": "http", "method": "GET", "path": "/ui/jobs", "query_string": query.encode(), "headers": headers})


def test_there_is_one_catalogue_per_language():
    assert sorted(path.stem for path in MESSAGES_FOLDER.glob("*.json")) == sorted(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_every_catalogue_has_the_keys_and_placeholders_of_the_english_one(language):
    english, other = messages("en"), messages(language)

    assert sorted(other.keys() - english.keys()) == []
    assert sorted(english.keys() - other.keys()) == []
    differing = {
        key: (sorted(PLACEHOLDER.findall(english[key])), sorted(PLACEHOLDER.findall(other[key])))
        for key in english
        if sorted(PLACEHOLDER.findall(english[key])) != sorted(PLACEHOLDER.findall(other[key]))
    }
    assert differing == {}


def test_every_key_the_templates_and_scripts_name_is_in_the_catalogue():
    named = set()
    for template in (UI_FOLDER / "templates").glob("*.html"):
        named |= set(TEMPLATE_KEY.findall(template.read_text()))
    for script in STATIC_FOLDER.glob("*.js"):
        text = script.read_text()
        named |= set(SCRIPT_KEY.findall(text)) | set(SHOW_ERROR_KEY.findall(text))
    named.discard("jobs.count")  # tCount's key: its plural forms are jobs.count.one and jobs.count.other

    assert named, "no key found: the patterns no longer match the way the pages name them"
    assert sorted(named - messages("en").keys()) == []


@pytest.mark.parametrize(
    ("page_request", "language"),
    [
        (request(), "en"),
        (request(accept="ja-JP,ja;q=0.9,en;q=0.8"), "ja"),
        (request(accept="fr-FR,fr;q=0.9,ja;q=0.5,en;q=0.4"), "ja"),
        (request(accept="de, en;q=0.3, ja;q=0.7"), "ja"),
        (request(accept="fr"), "en"),
        (request(cookies={LANGUAGE_COOKIE: "ja"}, accept="en"), "ja"),
        (request(cookies={"i18next": "en", LANGUAGE_COOKIE: "ja"}), "en"),
        (request(cookies={"i18next": "fr", LANGUAGE_COOKIE: "ja"}), "ja"),
        (request(query="lng=ja", cookies={"i18next": "en"}), "ja"),
        (request(query="lng=ja-JP", accept="en"), "ja"),
        (request(query="lng=zz", cookies={"i18next": "ja"}), "ja"),
    ],
)
def test_the_language_is_the_first_supported_of_query_cookies_and_browser_languages(page_request, language):
    assert request_language(page_request) == language


def test_a_message_is_escaped_and_takes_markup_where_its_placeholders_are():
    assert translate("en", "delete.title", name="<b>") == Markup("Delete “&lt;b&gt;”?")
    assert translate("ja", "job.numbered", job_id=Markup("<em>7</em>")) == Markup("ジョブ <em>7</em>")


def test_a_missing_key_shows_as_itself():
    assert translate("ja", "no.such.key") == "no.such.key"
