"""The job list's row controls, Duplicate, and the create and edit form's steps, in a real browser.

An editor duplicates a job from its page and lands on the copy; enables, disables and runs jobs
from the list (Run now asks first, naming the job and its AWS action; a job taking its parameters at
execution opens its page's form instead), while a viewer sees none of these controls. The form
keeps its step in the URL, so Back and Forward move between steps and a reload keeps the step;
leaving it with unsaved changes asks first; Edit opens at the step a setting of the detail page
links to.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Frame, FrameLocator, Page, expect

from devstack import demo
from devstack.stack import EmbeddedStack

from .browser_support import (
    FRAME,
    RUN_WAIT_MS,
    UI,
    create_job_with_api,
    frame_path,
    log_in,
    new_page,
    next_step,
    open_http_trigger,
    shoot,
)
from .conftest import VIEWER_USERNAME, stack_password, wait_for

pytestmark = pytest.mark.integration


def loaded_job(api: httpx.Client, name: str, **action: Any) -> dict[str, Any]:
    """A job created through the API and loaded by Airflow (enabled)."""
    job = create_job_with_api(api, f"{name} {uuid.uuid4().hex[:6]}", **action)
    wait_for(lambda: api.get(f"/http-trigger/api/jobs/{job['id']}").json()["is_paused"] is False,
             timeout=120, what=f"job {job['id']} to be loaded")
    return job


def open_page(page: Page, path: str) -> FrameLocator:
    page.goto(f"{UI}{path}")
    return page.frame_locator(FRAME)


def browser_back(page: Page) -> None:
    """Press the browser's Back: it walks the frame's history entries too (one joint history)."""
    page.evaluate("() => history.back()")


def browser_forward(page: Page) -> None:
    page.evaluate("() => history.forward()")


def pages_frame(page: Page) -> Frame:
    """The frame showing the pages (Airflow's own address names the page too: it is not that one)."""
    return next(f for f in page.frames if f is not page.main_frame and "/http-trigger/ui/" in f.url)


def frame_query(page: Page) -> str:
    return httpx.URL(pages_frame(page).url).query.decode()


def asks_before_unload(page: Page) -> bool:
    """Tell whether the pages' frame asks the browser to confirm leaving (it cancels ``beforeunload``).

    Headless Chromium shows no prompt for a frame's ``beforeunload``, so the event is sent as the
    browser sends it before closing or reloading, and its answer read.
    """
    return pages_frame(page).evaluate(
        "() => { const event = new Event('beforeunload', { cancelable: true });"
        " window.dispatchEvent(event); return event.defaultPrevented; }"
    )


def test_duplicate_from_the_detail_page_opens_the_copy(browser: Browser, stack: EmbeddedStack, api: httpx.Client):
    original = create_job_with_api(api, f"Start nightly {uuid.uuid4().hex[:6]}", post_processing={"on_failure": [
        {"type": "webhook", "parameters": {"url": "https://hooks.example.com/ops", "authorization": "Bearer copy-2"}}
    ]})
    page = new_page(browser, stack)
    log_in(page, stack.admin_username, stack.admin_password)
    frame = open_page(page, f"/jobs/{original['id']}")
    expect(frame.get_by_role("heading", name=original["name"])).to_be_visible()

    frame.get_by_role("button", name="Duplicate", exact=True).click()
    dialog = frame.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Duplicate “{original['name']}”?")
    expect(dialog).to_contain_text("It starts disabled")
    dialog.get_by_role("button", name="Cancel").click()
    assert [job["id"] for job in api.get("/http-trigger/api/jobs", params={"search": original["name"]}).json()["jobs"]] == [
        original["id"]
    ]
    frame.get_by_role("button", name="Duplicate", exact=True).click()
    dialog.get_by_role("button", name="Duplicate job").click()

    # The copy's page opens: a new job, disabled, with the original's definition and its own secrets.
    expect(frame.get_by_role("heading", name=f"{original['name']} (copy)")).to_be_visible()
    copy_id = int(re.search(r"/ui/jobs/(\d+)$", frame_path(page)).group(1))
    assert copy_id != original["id"]
    expect(frame.locator(".notice.ok")).to_contain_text(f"a copy of job {original['id']}")
    expect(frame.locator("#job-state")).to_have_text("disabled", timeout=RUN_WAIT_MS)
    expect(frame.get_by_role("button", name="Enable")).to_be_visible()
    expect(frame.locator("#settings")).to_contain_text("EC2: Start instances")
    expect(frame.locator("#audit-entries tbody tr").first).to_contain_text(f"Created as a copy of job {original['id']}")
    shoot(page, "job-duplicate")
    copy = api.get(f"/http-trigger/api/jobs/{copy_id}").json()
    assert {key: copy[key] for key in ("group", "action", "schedule", "trigger")} == {
        key: original[key] for key in ("group", "action", "schedule", "trigger")
    }
    revealed = api.post(f"/http-trigger/api/jobs/{copy_id}/secrets/reveal").json()
    assert revealed["token"] != original["token"] and revealed["trigger_url"] != original["trigger_url"]
    assert {"field": "post_processing.on_failure.0.parameters.authorization", "value": "Bearer copy-2"} in revealed[
        "fields"
    ]
    page.context.close()


def test_enable_disable_and_run_now_from_the_list(browser: Browser, stack: EmbeddedStack, api: httpx.Client):
    demo.ensure_demo_instances(stack)
    job = loaded_job(api, "List controls")
    page = new_page(browser, stack)
    log_in(page, stack.admin_username, stack.admin_password)
    frame = open_http_trigger(page)
    frame.get_by_role("searchbox").fill(job["name"])
    row = frame.locator(f'tr[data-job-id="{job["id"]}"]')
    switch = row.get_by_role("switch", name=f"Enabled: {job['name']}")
    run_now = row.get_by_role("button", name=f"Run now: {job['name']}")
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(run_now).to_be_enabled()
    expect(row.get_by_role("button", name=f"Duplicate: {job['name']}")).to_be_visible()
    shoot(page, "jobs-list-actions")

    # Disable, then enable again: the row follows, and so does the job's DAG.
    switch.click()
    expect(frame.locator(".notice.ok", has_text="is disabled")).to_be_visible()
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(switch).to_contain_text("disabled")
    expect(run_now).to_be_disabled()
    assert api.get(f"/http-trigger/api/jobs/{job['id']}").json()["is_paused"] is True
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(run_now).to_be_enabled()
    assert api.get(f"/http-trigger/api/jobs/{job['id']}").json()["is_paused"] is False

    # Run now asks first, naming the job, its action and its account; Cancel starts nothing.
    run_now.click()
    confirm = frame.locator("#confirm-dialog")
    expect(confirm).to_contain_text(f"Start “{job['name']}” now?")
    expect(confirm).to_contain_text("EC2: Start instances")
    expect(confirm).to_contain_text(demo.AWS_CONN_ID)
    shoot(page, "jobs-list-run-now-confirm")
    confirm.get_by_role("button", name="Cancel").click()
    assert api.get(f"/http-trigger/api/jobs/{job['id']}/runs").json()["runs"] == []
    run_now.click()
    confirm.get_by_role("button", name="Start run").click()
    notice = frame.locator(".notice.ok", has_text="started")
    expect(notice).to_be_visible()
    run_id = notice.get_by_role("link").inner_text()
    expect(row.locator(".badge.state")).to_be_visible()  # the row shows its new last run
    runs = api.get(f"/http-trigger/api/jobs/{job['id']}/runs").json()["runs"]
    assert [(run["dag_run_id"], run["trigger_source"]) for run in runs] == [(run_id, "manual")]
    audit = api.get(f"/http-trigger/api/jobs/{job['id']}/audit").json()["entries"]
    assert [(entry["event"], entry["channel"]) for entry in audit[:3]] == [
        ("http_trigger.run_now", "page"), ("http_trigger.enable", "page"), ("http_trigger.disable", "page")
    ]

    # A job taking its parameters at execution is never started blind: its page's form opens.
    at_execution = loaded_job(api, "List run at execution", parameters_at_execution=True, parameters={})
    frame.get_by_role("searchbox").fill(at_execution["name"])
    frame.get_by_role("button", name=f"Run now: {at_execution['name']}").click()
    expect(frame.locator("#job-name")).to_have_text(at_execution["name"])
    expect(frame.locator("#run-dialog")).to_be_visible()
    expect(frame.locator("#run-dialog").get_by_label("Tag key")).to_be_visible()
    page.context.close()

    # A viewer sees the jobs, not their controls.
    viewer = new_page(browser, stack)
    log_in(viewer, VIEWER_USERNAME, stack_password(stack, VIEWER_USERNAME))
    frame = open_http_trigger(viewer)
    frame.get_by_role("searchbox").fill(job["name"])
    row = frame.locator(f'tr[data-job-id="{job["id"]}"]')
    expect(row).to_contain_text("enabled")
    expect(row.get_by_role("switch")).to_have_count(0)
    expect(row.get_by_role("button")).to_have_count(0)
    expect(frame.locator("#jobs-table th.controls")).to_be_hidden()
    viewer.context.close()


def test_back_and_forward_move_between_the_create_steps(browser: Browser, stack: EmbeddedStack):
    page = new_page(browser, stack)
    log_in(page, stack.admin_username, stack.admin_password)
    frame = open_http_trigger(page)
    frame.get_by_role("link", name="New job").click()
    expect(frame.get_by_role("heading", name="Group", exact=True)).to_be_visible()
    next_step(frame, "Trigger")
    next_step(frame, "Action")
    assert frame_query(page) == "step=3"
    expect(page).to_have_url(re.compile(r"/ui/jobs/new\?step=3$"))  # Airflow's address names the step
    shoot(page, "create-step-in-url")

    browser_back(page)
    expect(frame.get_by_role("heading", name="Trigger", exact=True)).to_be_visible()
    assert frame_query(page) == "step=2"
    browser_back(page)
    expect(frame.get_by_role("heading", name="Group", exact=True)).to_be_visible()
    browser_forward(page)
    expect(frame.get_by_role("heading", name="Trigger", exact=True)).to_be_visible()
    browser_forward(page)
    expect(frame.get_by_role("heading", name="Action", exact=True)).to_be_visible()

    # A reload keeps the step: the steps before it are valid as they are.
    page.reload()
    frame = page.frame_locator(FRAME)
    expect(frame.get_by_role("heading", name="Action", exact=True)).to_be_visible()
    # A step further than the form can go yet opens the first one left to fill in.
    page.goto(f"{UI}/jobs/new?step=8")
    expect(frame.get_by_role("heading", name="Action", exact=True)).to_be_visible()
    page.context.close()


def test_leaving_with_unsaved_changes_asks_first(browser: Browser, stack: EmbeddedStack, api: httpx.Client):
    page = new_page(browser, stack)
    log_in(page, stack.admin_username, stack.admin_password)
    frame = open_http_trigger(page)
    frame.get_by_role("link", name="New job").click()
    expect(frame.get_by_role("heading", name="Group", exact=True)).to_be_visible()  # the list has a "Group" too
    group = frame.get_by_role("combobox", name="Group")

    # Nothing typed yet: nothing to ask, Cancel leaves at once.
    assert not asks_before_unload(page)
    frame.get_by_role("link", name="Cancel").click()
    expect(frame.get_by_role("heading", name="Operation jobs")).to_be_visible()

    frame.get_by_role("link", name="New job").click()
    expect(frame.get_by_role("heading", name="Group", exact=True)).to_be_visible()
    group.fill("typed-and-kept")
    frame.get_by_role("link", name="Cancel").click()
    dialog = frame.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Leave without saving?")
    expect(dialog).to_contain_text("discards what you entered")
    shoot(page, "create-unsaved-changes")
    dialog.get_by_role("button", name="Cancel").click()
    expect(group).to_have_value("typed-and-kept")

    # Closing or reloading the page asks too: the browser's own question.
    assert asks_before_unload(page)

    # A breadcrumb link asks as Cancel does; discarding leaves.
    frame.get_by_role("link", name="Operation jobs").click()
    dialog.get_by_role("button", name="Discard changes").click()
    expect(frame.get_by_role("heading", name="Operation jobs")).to_be_visible()

    # In Edit too: a changed name asks before Cancel goes back to the job.
    job = create_job_with_api(api, f"Unsaved edit {uuid.uuid4().hex[:6]}")
    frame = open_page(page, f"/jobs/{job['id']}/edit?step=name")
    name = frame.get_by_label("Name", exact=True)
    expect(name).to_have_value(job["name"])
    name.fill(f"{job['name']} renamed")
    frame.get_by_role("link", name="Cancel").click()
    expect(dialog).to_contain_text("Your changes to this job are not saved")
    dialog.get_by_role("button", name="Discard changes").click()
    expect(frame.get_by_role("heading", name=job["name"])).to_be_visible()
    assert api.get(f"/http-trigger/api/jobs/{job['id']}").json()["name"] == job["name"]
    page.context.close()


def test_edit_opens_at_the_step_of_a_setting(browser: Browser, stack: EmbeddedStack, api: httpx.Client):
    job = create_job_with_api(api, f"Edit at a step {uuid.uuid4().hex[:6]}")
    page = new_page(browser, stack)
    log_in(page, stack.admin_username, stack.admin_password)
    frame = open_page(page, f"/jobs/{job['id']}")
    expect(frame.get_by_role("heading", name=job["name"])).to_be_visible()

    frame.get_by_role("link", name="Edit the parameters").click()
    expect(frame.get_by_role("heading", name="Action parameters")).to_be_visible()
    expect(frame.get_by_label("Tag value")).to_have_value("test")
    assert frame_query(page) == "step=6"
    expect(page).to_have_url(re.compile(rf"/ui/jobs/{job['id']}/edit\?step=6$"))
    shoot(page, "job-edit-at-step")

    # Back returns to the job; each section's link opens its own step.
    browser_back(page)
    expect(frame.get_by_role("heading", name=job["name"])).to_be_visible()
    for link, heading in (
        ("Edit the trigger and schedule", "Trigger"),
        ("Edit the action", "Action"),
        ("Edit the post-processing on failure", "Post-processing"),
    ):
        frame.get_by_role("link", name=link).click()
        expect(frame.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        browser_back(page)
        expect(frame.get_by_role("heading", name=job["name"])).to_be_visible()

    # The step's number works as well as its name, and a save from there keeps the job's id.
    frame = open_page(page, f"/jobs/{job['id']}/edit?step=8")
    frame.get_by_label("Name", exact=True).fill(f"{job['name']} v2")
    frame.get_by_role("button", name="Confirm", exact=True).click()
    frame.get_by_role("button", name="Save changes").click()
    expect(frame.get_by_role("heading", name=f"{job['name']} v2")).to_be_visible()
    assert frame_path(page).endswith(f"/ui/jobs/{job['id']}")
    page.context.close()
