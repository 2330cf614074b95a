"""Every text of the server's models in every language: their schemas' titles and descriptions, messages.

English is written in the models and beside the validators; these tests fail when another
language misses any of it (a new action, field or message, or a changed English text), keeps a
translation nothing uses any more, or loses a placeholder or an example the English has.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from http_trigger.actions import ACTIONS
from http_trigger.field_messages import EXAMPLE_IN_DESCRIPTION, MESSAGES, RULES, message
from http_trigger.jobs.model import JobBody, PostProcessingSpec
from http_trigger.post_processing import POST_PROCESSING
from http_trigger.translations import (
    LANGUAGES,
    TRANSLATIONS_FOLDER,
    accepted_language,
    message_translations,
    schema_translations,
    translated_schema,
)

OTHER_LANGUAGES = LANGUAGES[1:]
PLACEHOLDER = re.compile(r"\{[^{}\s]*\}")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
NAMES_KEPT = {
    "Slack", "Webhook", "Webhook URL", "URL", "AMI ID", "Amazon SNS", "Amazon SQS", "SSM Run Command", "Bcc",
    "Cc",
}
"""Names a Japanese operator reads as they are, as AWS's Japanese console writes them."""
PROSE = {"a", "why"}
"""What follows "e.g." in a description that gives an example in words, not a value to enter."""


def _texts(schema: Any) -> set[str]:
    """Return every title and description of a JSON schema (not of its examples and defaults)."""
    if isinstance(schema, list):
        return {text for item in schema for text in _texts(item)}
    if not isinstance(schema, dict):
        return set()
    found = set()
    for key, value in schema.items():
        if key in ("title", "description") and isinstance(value, str):
            found.add(value)
        elif key not in ("examples", "default", "const", "enum"):
            found |= _texts(value)
    return found


def shown_texts() -> set[str]:
    """Every English text of a schema the pages and the API show: actions, post-processing kinds, jobs."""
    texts = _texts(JobBody.model_json_schema()) | _texts(PostProcessingSpec.model_json_schema())
    for entry in (*ACTIONS.values(), *POST_PROCESSING.values()):
        texts |= {entry.title, entry.description} | _texts(entry.parameters_model.model_json_schema())
    return texts


def all_messages() -> dict[str, str]:
    return {**MESSAGES, **{name: rule.text for name, rule in RULES.items()}}


def test_there_is_one_translations_file_per_language_but_english():
    assert sorted(path.stem for path in TRANSLATIONS_FOLDER.glob("*.json")) == sorted(OTHER_LANGUAGES)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_title_and_description_of_every_schema_has_a_translation_and_none_is_left_over(language):
    translations, shown = schema_translations(language), shown_texts()

    assert sorted(shown - translations.keys()) == []
    assert sorted(translations.keys() - shown) == []


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_action_parameter_and_post_processing_field_shows_in_the_language(language):
    for entry in (*ACTIONS.values(), *POST_PROCESSING.values()):
        schema = translated_schema(entry.parameters_model.model_json_schema(), language)
        english = entry.parameters_model.model_json_schema()
        for name, field in schema["properties"].items():
            title = field.get("title")
            untranslated = title == english["properties"][name].get("title") and title not in NAMES_KEPT
            assert not untranslated, (entry.name, name)


def test_the_japanese_texts_are_japanese_but_for_names_kept_as_they_are():
    not_japanese = {
        english: japanese
        for english, japanese in schema_translations("ja").items()
        if not JAPANESE.search(japanese) and japanese not in NAMES_KEPT
    }
    assert not_japanese == {}


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_a_translation_keeps_the_placeholders_and_the_example_of_its_english_text(language):
    differing = {}
    for english, translated in schema_translations(language).items():
        example, kept = EXAMPLE_IN_DESCRIPTION.search(english), EXAMPLE_IN_DESCRIPTION.search(translated)
        if sorted(PLACEHOLDER.findall(english)) != sorted(PLACEHOLDER.findall(translated)):
            differing[english] = translated
        elif example and example.group(1) not in PROSE and (not kept or kept.group(1) != example.group(1)):
            differing[english] = translated
    assert differing == {}


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_message_has_a_translation_with_the_same_placeholders(language):
    english, translated = all_messages(), message_translations(language)

    assert sorted(english.keys() - translated.keys()) == []
    assert sorted(translated.keys() - english.keys()) == []
    differing = {
        rule: (english[rule], translated[rule])
        for rule in english
        if sorted(PLACEHOLDER.findall(english[rule])) != sorted(PLACEHOLDER.findall(translated[rule]))
    }
    assert differing == {}


def test_a_translated_schema_keeps_the_names_examples_defaults_and_choices_the_api_takes():
    english = ACTIONS["ecs_run_task"].parameters_model.model_json_schema()

    japanese = translated_schema(english, "ja")

    assert japanese["properties"].keys() == english["properties"].keys()
    assert japanese["properties"]["launch_type"]["enum"] == english["properties"]["launch_type"]["enum"]
    assert japanese["properties"]["cluster"]["title"] == "クラスター"
    assert japanese["examples"] == english["examples"]
    assert translated_schema(english, "en") is english


def test_a_message_is_said_in_each_language_with_its_words_in_that_language():
    resources = RULES["ec2.instances"]

    english = message("targets.no_target", ids_field="instance_ids", resources=resources)
    japanese = message("targets.no_target", "ja", ids_field="instance_ids", resources=resources)

    assert english == "give instance_ids, or tag_key and tag_value, to choose the instances"
    assert japanese == "対象のインスタンスを選ぶには、instance_ids、または tag_key と tag_value を指定してください"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("ja", "ja"),
        ("ja-JP,ja;q=0.9,en;q=0.8", "ja"),
        ("fr-FR, ja;q=0.5, en;q=0.4", "ja"),
        ("en-GB,en;q=0.9,ja;q=0.8", "en"),
        ("fr", "en"),
    ],
)
def test_the_api_speaks_the_first_accepted_language_it_supports_and_english_by_default(header, language):
    assert accepted_language(header) == language
