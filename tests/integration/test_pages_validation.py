"""The create and edit form's checks in a real browser: every problem of a step at its field, at once.

Next checks the step with the schemas the page has, then asks the API what only the API can tell
(a cron expression croniter reads, rules across fields), and shows every problem of the step next to
its field in words saying what to enter. Asking is no error: the validation call answers 200 whether
the step is valid or not, so the browser's console stays clean. On Confirm, one click places the
problems of every step, and the form opens the first step with one.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from devstack import demo
from devstack.stack import EmbeddedStack

from .browser_support import (
    FRAME,
    UI,
    create_job_with_api,
    field,
    log_in,
    new_page,
    next_step,
    open_http_trigger,
    shoot,
)

pytestmark = pytest.mark.integration

INSTANCE_ID = "i-0123456789abcdef0"
HAS_ERROR = re.compile(r"\bhas-error\b")


class PluginTraffic:
    """The console errors the plugin's pages log, and the statuses the validation route answers."""

    def __init__(self, page: Page) -> None:
        self.console_errors: list[str] = []
        self.validation_statuses: list[int] = []
        page.on("console", self._on_console)
        page.on("response", self._on_response)

    def _on_console(self, message) -> None:
        where = message.location.get("url", "") if message.location else ""
        if message.type == "error" and ("/http-trigger/" in where or "/http-trigger/" in message.text):
            self.console_errors.append(message.text)

    def _on_response(self, response) -> None:
        if response.url.endswith("/http-trigger/api/jobs/validate"):
            self.validation_statuses.append(response.status)


def error_of(frame: FrameLocator, loc: str):
    return field(frame, loc).locator(".field-error")


def click_next(frame: FrameLocator) -> None:
    frame.get_by_role("button", name="Next").click()


def test_each_step_names_what_to_enter_at_each_field(browser: Browser, stack: EmbeddedStack):
    page = new_page(browser, stack)
    traffic = PluginTraffic(page)
    log_in(page, stack.admin_username, stack.admin_password)
    frame = open_http_trigger(page)
    frame.get_by_role("link", name="New job").click()
    expect(frame.get_by_role("heading", name="Group", exact=True)).to_be_visible()  # the list has a "Group" too

    frame.get_by_role("combobox", name="Group").fill("")
    click_next(frame)
    expect(error_of(frame, "group")).to_have_text("Enter a group")
    frame.get_by_role("combobox", name="Group").fill("test-environment")
    next_step(frame, "Trigger")

    # A ticked schedule needs a cron expression; whether one is, croniter (the API) tells.
    frame.get_by_label("Also run on a schedule (cron)").check()
    click_next(frame)
    expect(error_of(frame, "schedule")).to_have_text("Enter a cron expression such as 0 9 * * 1-5")
    frame.get_by_label("Cron expression (UTC)").fill("every minute")
    click_next(frame)
    expect(error_of(frame, "schedule")).to_have_text(
        "Enter a cron expression such as 0 9 * * 1-5: 'every minute' is not one"
    )
    expect(frame.get_by_label("Cron expression (UTC)")).to_have_attribute("aria-invalid", "true")
    shoot(page, "create-validation-error")
    frame.get_by_label("Cron expression (UTC)").fill("0 9 * * 1-5")
    next_step(frame, "Action")
    expect(error_of(frame, "schedule")).to_be_empty()

    click_next(frame)
    expect(error_of(frame, "action.type")).to_have_text("Choose an action")
    frame.get_by_label("Action to run").select_option("ec2_change_instance_type")
    next_step(frame, "Target AWS account")

    frame.get_by_label("Region", exact=True).fill("not a region!!")
    click_next(frame)
    expect(error_of(frame, "action.region")).to_have_text("Enter a region such as ap-northeast-1")
    frame.get_by_label("Region", exact=True).fill(demo.REGION)
    next_step(frame, "How the action's parameters are given")
    next_step(frame, "Action parameters")

    # A required field left empty and a wrong id: both at their fields, from one click.
    frame.get_by_label("Instance ids").fill("i-not-an-id")
    click_next(frame)
    expect(error_of(frame, "action.parameters.instance_ids")).to_have_text(
        f"Enter instance ids such as {INSTANCE_ID} (entry 1)"
    )
    expect(error_of(frame, "action.parameters.instance_type")).to_have_text("Enter an instance type")
    expect(error_of(frame, "action.parameters.tag_key")).to_be_empty()
    frame.get_by_label("Instance ids").fill(INSTANCE_ID)
    frame.get_by_label("Instance type", exact=True).fill("t3.large")
    next_step(frame, "Post-processing")

    frame.get_by_role("button", name="Add post-processing on failure").click()
    failure_step = frame.locator("#post-on_failure .post-item").first
    failure_step.get_by_label("Post-processing").select_option("webhook")
    failure_step.get_by_label("URL").fill("ftp://example.com/hook")
    click_next(frame)
    expect(error_of(frame, "post_processing.on_failure.0.parameters.url")).to_have_text(
        "'ftp://example.com/hook' is not an http or https URL"
    )
    failure_step.get_by_label("URL").fill("https://example.com/hook")
    next_step(frame, "Job name")

    # A name too long is kept as typed and refused with its length, never cut.
    name = frame.get_by_label("Name", exact=True)
    name.fill("n" * 500)
    expect(name).to_have_value("n" * 500)
    click_next(frame)
    expect(error_of(frame, "name")).to_have_text("Enter at most 200 characters (this has 500)")
    name.fill(f"Validated {uuid.uuid4().hex[:6]}")
    next_step(frame, "Confirm")

    assert traffic.console_errors == []
    assert traffic.validation_statuses and set(traffic.validation_statuses) == {200}
    page.context.close()


def test_one_save_places_the_problems_of_every_step(browser: Browser, stack: EmbeddedStack, api: httpx.Client):
    job = create_job_with_api(
        api,
        f"Checked at once {uuid.uuid4().hex[:6]}",
        type="ec2_change_instance_type",
        parameters={"instance_ids": [INSTANCE_ID], "instance_type": "t3.large"},
    )
    page = new_page(browser, stack)
    traffic = PluginTraffic(page)
    log_in(page, stack.admin_username, stack.admin_password)
    page.goto(f"{UI}/jobs/{job['id']}/edit?step=account")
    frame = page.frame_locator(FRAME)
    frame.get_by_label("Region", exact=True).fill("not a region!!")
    frame.get_by_role("button", name="Parameters", exact=True).click()
    frame.get_by_label("Instance ids").fill("i-not-an-id")
    frame.get_by_label("Instance type", exact=True).fill("")
    frame.get_by_role("button", name="Confirm", exact=True).click()

    frame.get_by_role("button", name="Save changes").click()

    expect(frame.get_by_role("heading", name="Target AWS account")).to_be_visible()
    expect(error_of(frame, "action.region")).to_have_text("Enter a region such as ap-northeast-1")
    steps = frame.locator("#step-list li")
    expect(steps.filter(has_text="AWS account")).to_have_class(HAS_ERROR)
    expect(steps.filter(has_text="Parameters")).to_have_class(HAS_ERROR)
    frame.get_by_role("button", name="Parameters", exact=True).click()
    expect(error_of(frame, "action.parameters.instance_ids")).to_have_text(
        f"Enter instance ids such as {INSTANCE_ID} (entry 1)"
    )
    expect(error_of(frame, "action.parameters.instance_type")).to_have_text("Enter an instance type")
    saved = api.get(f"/http-trigger/api/jobs/{job['id']}").json()
    assert (saved["action"]["region"], saved["action"]["parameters"]["instance_type"]) == (demo.REGION, "t3.large")
    assert traffic.console_errors == []
    page.context.close()
