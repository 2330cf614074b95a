"""Every page in each language, in Chromium: the language picked in Airflow's UI, else the browser's.

Jobs with a run that went well but for a failed notification and a run whose action failed, and one
using a shared post-processing definition, give the pages most of what they can say: the job list,
a job's page and its Run now form, its execution logs, a run's log, the create form and every step
of the edit form (with what to fix in a field, from the page's checks and from the API's), and the
post-processing definitions. Each page is opened in Airflow's frame (with its dialogs open where
it has them) once the language is picked in Airflow (its local storage) and once only by the
browser's language. Every text node and every title, placeholder and aria-label in the frame must
then be in the page's language: none may be a message of another language's catalogue that differs
from this one's, or contain a long piece of one, and no message key may show as it is. The server's
own texts count as messages: the titles and descriptions of actions, post-processing kinds and their
parameters, and what to fix in a field. What comes from users or AWS (names, ids, logs, errors) is
not judged. The Japanese pages are photographed with ``-ja`` names beside the English ones.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import http_trigger.jobs.model  # noqa: F401 (the models declare their validators' message rules)
import httpx
import pytest
from http_trigger.field_messages import MESSAGES, RULES
from http_trigger.translations import LANGUAGES, message_translations, schema_translations
from http_trigger.ui.i18n import PLACEHOLDER, messages
from playwright.sync_api import Browser, Frame, Page, expect

from devstack import demo
from devstack.stack import EmbeddedStack

from .browser_support import FRAME, log_in, new_page, shoot
from .conftest import (
    VIEWER_USERNAME,
    WebhookReceiver,
    create_job,
    no_action_job,
    stack_password,
    task_states,
    trigger,
    wait_for_run_end,
)

pytestmark = pytest.mark.integration

PAGES = "/http-trigger/ui"
PAGES_IN_AIRFLOW = f"/plugin/http-trigger{PAGES}"
MISSING_INSTANCE = "i-0000000000000dead"
# Pieces of a message this long are looked for inside texts too (a message with its values filled).
LONG_PIECE = 20
# A message with blanks is looked for with any values in them when its own words have this many letters.
MESSAGE_WORDS = 3
# Logs, code and curl lines are the server's and AWS's words, not the pages'.
NOT_PAGE_TEXT = "script, style, pre, code"
COLLECT_TEXTS = """(notPageText) => {
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (text && !node.parentElement.closest(notPageText)) texts.push(text);
  }
  for (const element of document.querySelectorAll("[title], [placeholder], [aria-label]")) {
    for (const name of ["title", "placeholder", "aria-label"]) {
      const value = (element.getAttribute(name) || "").trim();
      if (value) texts.push(value);
    }
  }
  return texts;
}"""
# The create and edit form's steps (job_form.html), each opened by its name in the address.
FORM_STEPS = ("group", "trigger", "action", "account", "mode", "parameters", "post", "name", "confirm")
SETTLED = """(pending) => document.readyState === "complete"
  && !pending.some((text) => document.body.innerText.includes(text))"""


@dataclass
class Jobs:
    """The jobs every language's pages show, with one finished run each."""

    warned_id: int
    warned_run: str
    failed_id: int
    failed_run: str
    shared_id: int
    definition: str


@pytest.fixture(scope="module")
def jobs(api: httpx.Client, webhook_receiver: WebhookReceiver) -> Iterator[Jobs]:
    suffix = uuid.uuid4().hex[:6]
    warned = create_job(api, no_action_job(
        f"languages-notify-{suffix}",
        on_success=[{"type": "webhook", "retries": 0, "parameters": {"url": f"{webhook_receiver.url}/broken/{suffix}"}}],
    ))
    failed = create_job(api, {
        "name": f"languages-start-{suffix}",
        "group": "languages",
        "description": f"languages-description-{suffix}",
        "action": {"type": "ec2_start_instances", "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION,
                   "parameters_at_execution": True, "parameters": {}},
        "post_processing": {"on_failure": [
            {"type": "webhook", "parameters": {"url": f"{webhook_receiver.url}/languages/{suffix}"}}
        ]},
    })
    definition = f"languages-hook-{suffix}"
    created = api.post("/http-trigger/api/post-processing", json={
        "name": definition, "type": "webhook", "parameters": {"url": f"{webhook_receiver.url}/languages/{suffix}"},
    })
    assert created.status_code == 201, created.text
    shared = create_job(api, no_action_job(f"languages-shared-{suffix}", on_failure=[{"ref": definition}]))
    warned_run = trigger(warned).json()["dag_run_id"]
    failed_run = trigger(failed, headers={"Authorization": f"CAAuth {failed['token']}"},
                         json={"instance_ids": [MISSING_INSTANCE]}).json()["dag_run_id"]
    for job, run_id in ((warned, warned_run), (failed, failed_run)):
        wait_for_run_end(api, job["dag_id"], run_id)
        task_states(api, job["dag_id"], run_id)
    yield Jobs(warned_id=warned["id"], warned_run=warned_run, failed_id=failed["id"], failed_run=failed_run,
               shared_id=shared["id"], definition=definition)
    for job in (warned, failed, shared):
        api.delete(f"/http-trigger/api/jobs/{job['id']}")
    api.delete(f"/http-trigger/api/post-processing/{definition}")


def server_texts(language: str) -> dict[str, str]:
    """Return the server's texts in ``language``: its schemas' titles and descriptions, and its messages.

    Each is keyed by its English text or its rule, as every language translates the same ones.
    """
    english_texts = schema_translations(LANGUAGES[1])
    english_messages = {**MESSAGES, **{name: rule.text for name, rule in RULES.items()}}
    texts = {f"schema:{text}": schema_translations(language).get(text, text) for text in english_texts}
    said = {f"rule:{rule}": message_translations(language).get(rule, text)
             for rule, text in english_messages.items()}
    return {**texts, **said}


def catalogue(language: str) -> dict[str, str]:
    """Every text the pages may say in ``language``: their own messages and the server's texts."""
    return {**messages(language), **server_texts(language)}


def foreign_messages(language: str) -> tuple[set[str], set[str]]:
    """Return the other languages' messages that ``language`` says otherwise, and their long pieces.

    The server's texts count as messages: an action's title, a parameter's label or what to fix in a
    field shown in English on a Japanese page is as wrong as a button's label.
    """
    own = catalogue(language)
    foreign = {
        message
        for other in LANGUAGES
        if other != language
        for key, message in catalogue(other).items()
        if message != own[key]
    } - set(own.values())
    pieces = {
        piece.strip()
        for message in foreign
        for index, piece in enumerate(PLACEHOLDER.split(message))
        if index % 2 == 0 and len(piece.strip()) >= LONG_PIECE
    }
    return foreign, pieces


def filled_in(messages_with_blanks: set[str]) -> list[re.Pattern[str]]:
    """Return a pattern of each message with its blanks filled ("Enter {field} such as {example}").

    A message whose own words are too few to tell it from any text (``{choices} or {last}``) has none.
    """
    patterns = []
    for message in messages_with_blanks:
        words = PLACEHOLDER.split(message)[::2]
        if len(words) > 1 and len(re.sub(r"\W", "", "".join(words))) >= MESSAGE_WORDS:
            patterns.append(re.compile("(.+)".join(re.escape(word) for word in words), re.DOTALL))
    return patterns


def untranslated(frame: Frame, language: str) -> list[str]:
    """Return every text in the frame that is another language's message, filled in or not, or a raw key."""
    foreign, pieces = foreign_messages(language)
    patterns = filled_in(foreign)
    keys = set(messages(language))
    return sorted(
        text
        for text in set(frame.evaluate(COLLECT_TEXTS, NOT_PAGE_TEXT))
        if text in foreign
        or text in keys
        or any(piece in text for piece in pieces)
        or any(pattern.fullmatch(text) for pattern in patterns)
    )


def settle(page: Page, language: str, *, in_airflow: bool) -> Frame:
    """Wait until the page speaks ``language`` and has loaded all it shows; return its frame."""
    root = page.frame_locator(FRAME) if in_airflow else page
    expect(root.locator("html")).to_have_attribute("lang", language)
    frame = page.locator(FRAME).element_handle().content_frame() if in_airflow else page.main_frame
    catalogue = messages(language)
    pending = [catalogue[key] for key in ("common.loading", "task.log_loading", "failure.reading_log",
                                          "job_state.loading_in_airflow")]
    frame.wait_for_function(SETTLED, arg=pending)
    return frame


def check_every_page(page: Page, jobs: Jobs, language: str, *, in_airflow: bool = True,
                     photographed: bool = False) -> dict[str, list[str]]:
    """Open each page (and its dialogs) in ``language``; return what each shows untranslated.

    ``in_airflow`` opens them in Airflow's frame, else alone (as a link opened in a new tab does).
    """
    found: dict[str, list[str]] = {}

    def open_page(path: str) -> Frame:
        page.goto(f"{PAGES_IN_AIRFLOW if in_airflow else PAGES}{path}")
        return settle(page, language, in_airflow=in_airflow)

    def check(name: str, frame: Frame, screenshot: str | None = None) -> None:
        found[name] = untranslated(frame, language)
        if photographed and screenshot:
            shoot(page, f"{screenshot}-{language}")

    frame = open_page("/jobs")
    expect(frame.locator(f'tr[data-job-id="{jobs.warned_id}"]')).to_be_visible()
    check("job list", frame, "jobs-list")

    frame = open_page(f"/jobs/{jobs.warned_id}")
    expect(frame.locator("#recent-runs tr[data-run-id]")).to_have_count(1)
    check("job detail", frame, "job-detail")
    frame.locator("#run-now").click()
    expect(frame.locator("#confirm-dialog")).to_be_visible()
    check("job detail, Run now confirmation", frame, "job-detail-run-now-confirm")
    frame.locator("#confirm-cancel").click()
    frame.locator("#delete-job").click()
    expect(frame.locator("#confirm-dialog")).to_be_visible()
    check("job detail, delete confirmation", frame)
    frame.locator("#confirm-cancel").click()
    frame.locator("#reveal").click()
    expect(frame.locator("#copy-curl")).to_be_visible()
    check("job detail, secrets revealed", frame)

    frame = open_page(f"/jobs/{jobs.failed_id}")
    expect(frame.locator("#body-sample")).to_be_visible()
    check("job detail, parameters at execution", frame, "job-detail-parameters-at-execution")
    frame.locator("#run-now").click()
    expect(frame.locator("#run-dialog")).to_be_visible()
    check("job detail, Run now form", frame, "job-detail-run-now-form")
    run_field = frame.locator('#run-fields [name="instance_ids"]')
    run_field.fill("i-bad")
    frame.locator("#run-submit").click()
    expect(frame.locator('#run-fields [data-error-for="instance_ids"] .message')).to_be_visible()
    check("job detail, Run now form, the page's check", frame)
    # A tag key without its value passes the page's checks; the API's answer names the rule.
    run_field.fill("")
    frame.locator('#run-fields [name="tag_key"]').fill("Env")
    frame.locator("#run-submit").click()
    frame.locator("#confirm-ok").click()
    expect(frame.locator("#run-form-error .message")).to_be_visible()
    check("job detail, Run now form, the API's answer", frame)
    frame.locator("#run-cancel").click()

    frame = open_page(f"/jobs/{jobs.warned_id}/runs")
    expect(frame.locator("#runs-body tr[data-run-id]")).to_have_count(1)
    check("execution logs", frame, "job-executions")

    frame = open_page(f"/jobs/{jobs.warned_id}/runs/{jobs.warned_run}")
    expect(frame.locator("#failure.warning")).to_be_visible()
    check("run log, a notification failed", frame, "run-detail-warning")

    frame = open_page(f"/jobs/{jobs.failed_id}/runs/{jobs.failed_run}")
    expect(frame.locator("#failure.error")).to_be_visible()
    check("run log, the action failed", frame, "run-detail-failure")
    frame.locator("#failure-details summary").click()
    check("run log, the full error", frame)

    frame = open_page("/jobs/new")
    expect(frame.locator("#next")).to_be_enabled()
    check("job form, new", frame, "create-1-group")
    frame.locator("#group").fill("languages-unsaved")
    frame.locator("#cancel").click()
    expect(frame.locator("#confirm-dialog")).to_be_visible()
    check("job form, leaving unsaved changes", frame)
    frame.locator("#confirm-cancel").click()

    for step in FORM_STEPS:
        frame = open_page(f"/jobs/{jobs.shared_id}/edit?step={step}")
        expect(frame.locator(f'section.step[data-step="{step}"]')).to_be_visible()
        expect(frame.locator("#next")).to_be_enabled()
        check(f"job form, edit: {step}", frame, "job-edit-at-step" if step == "post" else None)
    frame = open_page(f"/jobs/{jobs.shared_id}/edit?step=trigger")
    frame.locator("#use-schedule").check()
    frame.locator("#schedule").fill("every minute")
    frame.locator("#next").click()
    expect(frame.locator('[data-error-for="schedule"] .message')).to_be_visible()
    check("job form, edit: a schedule the API refuses", frame, "create-validation-error")
    frame = open_page(f"/jobs/{jobs.failed_id}/edit?step=mode")
    expect(frame.locator("#next")).to_be_enabled()
    check("job form, edit: parameters at execution", frame)
    frame.locator('input[name="parameter_mode"][value="creation"]').check()
    frame.locator("#next").click()
    expect(frame.locator('section.step[data-step="parameters"] .field').first).to_be_visible()
    check("job form, edit: the action's parameters", frame, "create-6-parameters")
    frame.locator('[name="action.parameters.instance_ids"]').fill("i-bad")
    frame.locator("#next").click()
    expect(frame.locator('[data-error-for="action.parameters.instance_ids"] .message')).to_be_visible()
    check("job form, edit: a parameter refused", frame)

    frame = open_page("/post-processing")
    expect(frame.locator(f'tr[data-definition="{jobs.definition}"]')).to_be_visible()
    check("post-processing definitions", frame, "post-processing-list")
    frame.locator("#new-definition").click()
    expect(frame.locator("#definition-form")).to_be_visible()
    check("post-processing definitions, a new one", frame)
    frame = open_page(f"/post-processing/{jobs.definition}")
    expect(frame.locator("#definition-form")).to_be_visible()
    check("post-processing definition", frame)
    frame.locator(f'tr[data-definition="{jobs.definition}"] button.danger').click()
    expect(frame.locator("#confirm-dialog")).to_be_visible()
    check("post-processing definition, delete confirmation", frame)
    frame.locator("#confirm-cancel").click()

    check("a job that does not exist", open_page("/jobs/999999999"))
    check("a run that does not exist", open_page("/jobs/999999999/runs/missing"))
    return {name: texts for name, texts in found.items() if texts}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_speaks_the_language_picked_in_airflow(
    browser: Browser, stack: EmbeddedStack, jobs: Jobs, language: str
):
    # The browser asks for another language: Airflow's choice wins.
    browser_locale = "ja-JP" if language == "en" else "en-US"
    page = new_page(browser, stack, locale=browser_locale, airflow_language=language)
    log_in(page, stack.admin_username, stack.admin_password)

    assert check_every_page(page, jobs, language, photographed=language != "en") == {}


def test_without_a_choice_in_airflow_the_pages_speak_the_browsers_language(
    browser: Browser, stack: EmbeddedStack, jobs: Jobs
):
    # Alone, outside Airflow's UI, which would keep the language it detected in local storage.
    page = new_page(browser, stack, locale="ja-JP")
    page.context.add_cookies([{"name": "_token", "value": stack.get_api_token(), "url": stack.api_url}])

    assert check_every_page(page, jobs, "ja", in_airflow=False) == {}


def test_the_japanese_pages_narrow_dark_for_a_viewer_and_of_a_copy(
    browser: Browser, stack: EmbeddedStack, api: httpx.Client, jobs: Jobs
):
    """The Japanese twins of the other photographs: a narrow window, the dark theme, a viewer, a copy."""
    found: dict[str, list[str]] = {}

    def photograph(page: Page, path: str, ready: str, name: str) -> Frame:
        page.goto(f"{PAGES_IN_AIRFLOW}{path}")
        frame = settle(page, "ja", in_airflow=True)
        expect(frame.locator(ready).first).to_be_visible()
        found[name] = untranslated(frame, "ja")
        shoot(page, f"{name}-ja")
        return frame

    narrow = new_page(browser, stack, width=420, height=860, airflow_language="ja")
    log_in(narrow, stack.admin_username, stack.admin_password)
    photograph(narrow, f"/jobs/{jobs.failed_id}", "#body-sample", "job-detail-narrow")
    photograph(narrow, "/jobs", f'tr[data-job-id="{jobs.failed_id}"]', "jobs-list-narrow")
    narrow.set_viewport_size({"width": 390, "height": 844})
    run = f"/jobs/{jobs.failed_id}/runs/{jobs.failed_run}"
    photograph(narrow, run, "#failure.error", "run-detail-narrow")
    narrow.context.close()

    dark = new_page(browser, stack, color_scheme="dark", airflow_language="ja")
    log_in(dark, stack.admin_username, stack.admin_password)
    photograph(dark, f"/jobs/{jobs.failed_id}", "#body-sample", "job-detail-dark")
    dark.context.close()

    viewer = new_page(browser, stack, airflow_language="ja")
    log_in(viewer, VIEWER_USERNAME, stack_password(stack, VIEWER_USERNAME))
    photograph(viewer, f"/jobs/{jobs.warned_id}", "#no-token", "job-detail-viewer")
    viewer.context.close()

    page = new_page(browser, stack, airflow_language="ja")
    log_in(page, stack.admin_username, stack.admin_password)
    page.goto(f"{PAGES_IN_AIRFLOW}/jobs/{jobs.failed_id}")
    frame = settle(page, "ja", in_airflow=True)
    frame.locator("#duplicate-job").click()
    frame.locator("#confirm-ok").click()
    expect(frame.locator(".notice.ok")).to_be_visible()
    copy_id = int(re.search(r"/ui/jobs/(\d+)$", frame.url).group(1))
    photograph(page, f"/jobs/{copy_id}?duplicated={jobs.failed_id}", ".notice.ok", "job-duplicate")
    page.context.close()
    api.delete(f"/http-trigger/api/jobs/{copy_id}")

    assert {name: texts for name, texts in found.items() if texts} == {}


def test_dates_follow_the_pages_language(browser: Browser, stack: EmbeddedStack, jobs: Jobs):
    shown = {}
    for language in LANGUAGES:
        page = new_page(browser, stack, airflow_language=language)
        log_in(page, stack.admin_username, stack.admin_password)
        page.goto(f"{PAGES_IN_AIRFLOW}/jobs/{jobs.warned_id}/runs")
        frame = settle(page, language, in_airflow=True)
        shown[language] = frame.locator("#runs-body tr[data-run-id] td").nth(3).inner_text()

    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2}\s[AP]M", shown["en"]), shown
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2} \d{1,2}:\d{2}:\d{2}", shown["ja"]), shown
