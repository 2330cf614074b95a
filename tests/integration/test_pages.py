"""The job pages in a real browser: Debian's Chromium, headless, driven by Playwright, on the real stack.

A user logs in on Airflow's login page, opens "HTTP Trigger" in Airflow's nav and does what the
seed describes: creates a job step by step, reveals and copies the curl line from its detail page
and runs it, watches the execution reach success with its log, presses Update, disables the job
and deletes it. A viewer sees every secret masked and no way to reveal or edit.
Every page is photographed on the way; `make screenshots` keeps them in docs/screenshots/.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from devstack import demo
from devstack.stack import EmbeddedStack

from .browser_support import (
    CURL_PATTERN,
    CURL_WITH_BODY_PATTERN,
    FRAME,
    RUN_WAIT_MS,
    create_job_with_api,
    frame_path,
    log_in,
    new_page,
    next_step,
    open_http_trigger,
    shoot,
)
from .conftest import VIEWER_USERNAME, WebhookReceiver, stack_password, wait_for, wait_for_run_end

pytestmark = pytest.mark.integration

def test_create_run_update_disable_and_delete_a_job_in_the_browser(
    browser: Browser, stack: EmbeddedStack, api: httpx.Client, webhook_receiver: WebhookReceiver
):
    demo.ensure_demo_instances(stack)
    suffix = uuid.uuid4().hex[:6]
    name = f"Start test EC2 instances {suffix}"
    page = new_page(browser, stack)
    log_in(page, stack.admin_username, stack.admin_password)
    frame = open_http_trigger(page)

    # The create flow, in the seed's order.
    frame.get_by_role("link", name="New job").click()
    expect(frame.get_by_role("heading", name="Group", exact=True)).to_be_visible()
    frame.get_by_role("combobox", name="Group").fill("test-environment")
    shoot(page, "create-1-group")
    next_step(frame, "Trigger")
    expect(frame.get_by_role("radio", name=re.compile("HTTP Trigger"))).to_be_checked()
    shoot(page, "create-2-trigger")
    next_step(frame, "Action")
    frame.get_by_label("Action to run").select_option("ec2_start_instances")
    expect(frame.locator("#action-description")).to_contain_text("Start the EC2 instances")
    shoot(page, "create-3-action")
    next_step(frame, "Target AWS account")
    expect(frame.locator("#aws-conn-id option", has_text=demo.AWS_CONN_ID)).to_have_count(1)
    frame.get_by_label("AWS connection").select_option(demo.AWS_CONN_ID)
    frame.get_by_label("Region").fill(demo.REGION)
    shoot(page, "create-4-aws-account")
    next_step(frame, "How the action's parameters are given")
    frame.get_by_role("radio", name=re.compile("at job creation")).check()
    shoot(page, "create-5-parameter-mode")
    next_step(frame, "Action parameters")
    frame.get_by_label("Tag key").fill("Env")
    frame.get_by_label("Tag value").fill("test")
    shoot(page, "create-6-parameters")
    next_step(frame, "Post-processing")
    frame.get_by_role("button", name="Add post-processing on success").click()
    success_step = frame.locator("#post-on_success .post-item").first
    success_step.get_by_label("Post-processing").select_option("webhook")
    success_step.get_by_label("URL").fill(f"{webhook_receiver.url}/pages/{suffix}")
    shoot(page, "create-7-post-processing")
    next_step(frame, "Job name")
    frame.get_by_label("Name", exact=True).fill(name)
    frame.get_by_label("Description").fill("Start the test environment's instances from the pages")
    shoot(page, "create-8-name")
    next_step(frame, "Confirm")
    summary = frame.locator("#summary")
    for text in ("test-environment", "HTTP Trigger", "EC2: Start instances", demo.AWS_CONN_ID, "tag_value"):
        expect(summary).to_contain_text(text)
    expect(summary).to_contain_text(name)
    shoot(page, "create-9-confirm")
    frame.get_by_role("button", name="Create job").click()

    # The detail page opens, with the URL and token masked, and the seed's curl line.
    expect(frame.get_by_role("heading", name=name)).to_be_visible()
    job_id = int(re.search(r"/ui/jobs/(\d+)$", frame_path(page)).group(1))
    shown = api.get(f"/http-trigger/api/jobs/{job_id}").json()
    job = {**shown, **api.post(f"/http-trigger/api/jobs/{job_id}/secrets/reveal").json()}
    expect(frame.locator("#job-state")).to_have_text("enabled", timeout=RUN_WAIT_MS)  # loaded by Airflow
    expect(frame.locator("#trigger-url")).to_have_text(shown["trigger_url"])
    expect(frame.locator("#token")).to_have_text("••••")
    assert job["token"] not in frame.locator("main").inner_text()
    expect(frame.get_by_role("button", name="Copy curl command")).to_have_count(0)
    shoot(page, "job-detail")
    frame.get_by_role("button", name="Reveal").click()
    expect(frame.locator("#token")).to_have_text(job["token"])
    expect(frame.locator("#trigger-url")).to_have_text(job["trigger_url"])
    expect(frame.locator("#curl")).to_have_text(job["curl"])
    frame.get_by_role("button", name="Hide").click()
    expect(frame.locator("#token")).to_have_text("••••")

    # It is in the list, found by its name.
    frame.get_by_role("link", name="Operation jobs").first.click()
    frame.get_by_role("searchbox").fill(name)
    row = frame.locator(f'tr[data-job-id="{job_id}"]')
    expect(row).to_contain_text("test-environment")
    expect(frame.locator("#jobs-body tr")).to_have_count(1)
    row.get_by_role("link", name=name).click()
    expect(frame.locator("#job-state")).to_have_text("enabled")

    # Reveal, copy the curl line and run it: it prints the 200 answer.
    frame.get_by_role("button", name="Reveal").click()
    frame.get_by_role("button", name="Copy curl command").click()
    expect(frame.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    match = CURL_PATTERN.match(copied)
    assert match, copied
    assert (match.group(1), match.group(2)) == (job["token"], job["trigger_url"])
    result = subprocess.run(shlex.split(copied), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["result"], answer["trigger_job_id"]) == ("ok", job_id)

    # The execution appears in the job's execution log and reaches success, with its log.
    frame.get_by_role("link", name="All execution logs").click()
    run_row = frame.locator(f'tr[data-run-id="{answer["dag_run_id"]}"]')
    expect(run_row).to_contain_text("HTTP")
    expect(run_row).to_contain_text("127.0.0.1")
    shoot(page, "job-executions")
    frame.get_by_role("link", name="Latest log").click()
    expect(frame.locator("#run-props")).to_contain_text(answer["dag_run_id"])
    expect(frame.locator('#run-state[data-state="success"]')).to_be_visible(timeout=RUN_WAIT_MS)
    action_log = frame.locator('[data-task-log="action"]')
    expect(action_log).to_contain_text("EC2 instances", timeout=RUN_WAIT_MS)
    expect(frame.locator('[data-task-id="action"] .badge')).to_have_text("success")
    expect(frame.locator('section.task[data-task-id^="on_success"] .badge')).to_have_text("success")
    expect(frame.get_by_role("link", name="Open in Airflow's grid view")).to_have_attribute(
        "href", f"/dags/{job['dag_id']}/runs/{answer['dag_run_id']}".replace(":", "%3A").replace("+", "%2B")
    )
    shoot(page, "execution-log")

    # The grid-view link opens Airflow's own page for the run, outside the frame.
    frame.get_by_role("link", name="Open in Airflow's grid view").click()
    expect(page).to_have_url(re.compile(rf"/dags/{job['dag_id']}/runs/"))

    # Back in the pages, the list shows the job's last run.
    frame = open_http_trigger(page)
    expect(frame.locator(f'tr[data-job-id="{job_id}"] .badge.state')).to_have_text("success")
    shoot(page, "jobs-list")
    frame.get_by_role("link", name=name).click()

    # Update: confirm, then the old URL and token answer 404.
    frame.get_by_role("button", name="Update URL and token").click()
    dialog = frame.get_by_role("dialog")
    expect(dialog).to_contain_text("stop working immediately")
    shoot(page, "job-detail-update-confirm")
    dialog.get_by_role("button", name="Update URL and token").click()
    expect(frame.locator(".notice.ok", has_text="new URL and access token")).to_be_visible()
    old = httpx.post(job["trigger_url"], headers={"Authorization": f"CAAuth {job['token']}"}, timeout=30)
    assert old.status_code == 404, old.text
    rotated = api.post(f"/http-trigger/api/jobs/{job_id}/secrets/reveal").json()
    assert rotated["token"] != job["token"] and rotated["trigger_url"] != job["trigger_url"]
    expect(frame.locator("#token")).to_have_text("••••")
    frame.get_by_role("button", name="Reveal").click()
    expect(frame.locator("#trigger-url")).to_have_text(rotated["trigger_url"])

    # Run now, from the page: it asks first, naming the action and the account.
    frame.get_by_role("button", name="Run now").click()
    dialog = frame.get_by_role("dialog")
    expect(dialog).to_contain_text("EC2: Start instances")
    expect(dialog).to_contain_text(demo.AWS_CONN_ID)
    dialog.get_by_role("button", name="Start run").click()
    expect(frame.locator(".notice.ok", has_text="Run started")).to_be_visible()
    expect(frame.locator("#recent-runs tbody tr", has_text="Manual")).to_have_count(1)

    # Disable: the job's DAG is paused and its URL answers 409.
    frame.get_by_role("button", name="Disable").click()
    expect(frame.locator("#job-state")).to_have_text("disabled")
    expect(frame.get_by_role("button", name="Enable")).to_be_visible()
    assert api.get(f"/http-trigger/api/jobs/{job_id}").json()["is_paused"] is True
    paused = httpx.post(
        rotated["trigger_url"], headers={"Authorization": f"CAAuth {rotated['token']}"}, timeout=30
    )
    assert paused.status_code == 409, paused.text
    shoot(page, "job-detail-disabled")

    # Changes: what was done on the page, by whom and how, newest first; and as CSV.
    changes = frame.locator("#audit-entries tbody tr")
    expect(changes.first).to_contain_text("Disabled")
    expect(changes.first).to_contain_text("admin")
    expect(changes.first).to_contain_text("Pages")
    expect(frame.locator("#audit-entries tbody tr", has_text="Run now")).to_have_count(1)
    with page.expect_download() as download:
        frame.get_by_role("link", name="Download CSV").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(row["event"], row["channel"]) for row in exported[:2]] == [
        ("http_trigger.disable", "page"), ("http_trigger.run_now", "page")
    ]

    # Edit: the same form, filled in; save a new name.
    frame.get_by_role("link", name="Edit", exact=True).click()
    expect(frame.get_by_role("combobox", name="Group")).to_have_value("test-environment")
    frame.get_by_role("button", name="Name", exact=True).click()
    frame.get_by_label("Name", exact=True).fill(f"{name} (edited)")
    frame.get_by_role("button", name="Confirm", exact=True).click()
    frame.get_by_role("button", name="Save changes").click()
    expect(frame.get_by_role("heading", name=f"{name} (edited)")).to_be_visible()

    # Delete, after a confirmation; the list says so and no longer has it.
    frame.get_by_role("button", name="Delete").click()
    dialog = frame.get_by_role("dialog")
    expect(dialog).to_contain_text("Its past executions stay readable")
    dialog.get_by_role("button", name="Delete job").click()
    expect(frame.locator(".notice.ok", has_text="was deleted")).to_be_visible()
    expect(frame.locator(f'tr[data-job-id="{job_id}"]')).to_have_count(0)
    assert api.get(f"/http-trigger/api/jobs/{job_id}").status_code == 404
    page.context.close()


def test_a_job_taking_parameters_at_execution_is_called_and_run_from_its_page(
    browser: Browser, stack: EmbeddedStack, api: httpx.Client
):
    demo.ensure_demo_instances(stack)
    job = create_job_with_api(api, f"Start by tag at execution {uuid.uuid4().hex[:6]}", parameters_at_execution=True,
                              parameters={})
    job_id, dag_id = job["id"], job["dag_id"]
    wait_for(lambda: api.get(f"/http-trigger/api/jobs/{job_id}").json()["is_paused"] is False,
             timeout=120, what="the job to be loaded")

    # Airflow's own trigger form asks for the action's fields: the DAG declares them as params.
    params = api.get(f"/api/v2/dags/{dag_id}/details").json()["params"]
    assert set(params) == {"instance_ids", "tag_key", "tag_value", "wait_until_final_state"}
    assert params["tag_key"]["schema"]["type"] == ["string", "null"]
    assert params["wait_until_final_state"]["value"] is True

    page = new_page(browser, stack)
    log_in(page, stack.admin_username, stack.admin_password)
    page.goto(f"/plugin/http-trigger/http-trigger/ui/jobs/{job_id}")
    frame = page.frame_locator(FRAME)
    expect(frame.get_by_role("heading", name=job["name"])).to_be_visible()
    expect(frame.locator("#job-state")).to_have_text("enabled")

    # The accepted body: every field, its type, whether required, its default; an example to copy.
    fields = frame.locator("#body-fields tbody tr")
    expect(fields).to_have_count(4)
    expect(frame.locator('#body-fields tr[data-field="instance_ids"]')).to_contain_text("array of string")
    expect(frame.locator('#body-fields tr[data-field="tag_key"]')).to_contain_text("string or null")
    expect(frame.locator('#body-fields tr[data-field="wait_until_final_state"]')).to_contain_text("optional")
    expect(frame.locator('#body-fields tr[data-field="wait_until_final_state"]')).to_contain_text("true")
    frame.locator("#body-sample").scroll_into_view_if_needed()
    shoot(page, "job-detail-parameters-at-execution")
    example = json.loads(frame.locator("#example-body").inner_text())
    assert example == {"instance_ids": ["i-0123456789abcdef0"]}
    frame.get_by_role("button", name="Copy JSON body").click()
    expect(frame.locator("#copy-body")).to_have_text("Copied")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == example
    expect(frame.locator("#curl")).to_contain_text("CAAuth ••••")
    expect(frame.locator("#curl")).to_contain_text("Content-Type: application/json")

    # Reveal, copy the curl line with the body, and run it: the trigger takes it.
    frame.get_by_role("button", name="Reveal").click()
    revealed = api.post(f"/http-trigger/api/jobs/{job_id}/secrets/reveal").json()
    expect(frame.locator("#token")).to_have_text(revealed["token"])
    frame.get_by_role("button", name="Copy curl command").click()
    expect(frame.locator("#copy-curl")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == frame.locator("#curl").inner_text()
    match = CURL_WITH_BODY_PATTERN.match(copied)
    assert match, copied
    assert (match.group(1), json.loads(match.group(2)), match.group(3)) == (
        revealed["token"], example, revealed["trigger_url"]
    )
    result = subprocess.run(shlex.split(copied), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["result"], answer["trigger_job_id"]) == ("ok", job_id)

    # Run now opens the action's form; the page checks what it can, the API the rest.
    frame.get_by_role("button", name="Run now…").click()
    form = frame.locator("#run-dialog")
    expect(form.get_by_label("Tag key")).to_be_visible()
    form.get_by_label("Instance ids").fill("i-nope")
    form.get_by_role("button", name="Start run…").click()
    expect(form.locator('[data-error-for="instance_ids"]')).to_have_text(
        "Enter instance ids such as i-0123456789abcdef0 (entry 1)"
    )
    form.get_by_label("Instance ids").fill("")
    form.get_by_role("button", name="Start run…").click()  # nothing chosen: only the API knows the rule
    confirm = frame.locator("#confirm-dialog")
    expect(confirm).to_contain_text("with wait_until_final_state: true.")
    confirm.get_by_role("button", name="Start run").click()
    expect(form.locator("#run-form-error")).to_contain_text("instance_ids")
    form.get_by_label("Tag key").fill("Env")
    form.get_by_label("Tag value").fill("test")
    shoot(page, "job-detail-run-now-form")
    form.get_by_role("button", name="Start run…").click()
    expect(confirm).to_contain_text('tag_key: "Env"')
    expect(confirm).to_contain_text(demo.AWS_CONN_ID)
    shoot(page, "job-detail-run-now-confirm")
    confirm.get_by_role("button", name="Start run").click()
    notice = frame.locator(".notice.ok", has_text="Run started")
    expect(notice).to_be_visible()
    run_now_id = notice.get_by_role("link").inner_text()
    assert wait_for_run_end(api, dag_id, run_now_id) == "success"
    runs = api.get(f"/http-trigger/api/jobs/{job_id}/runs").json()["runs"]
    assert {run["dag_run_id"]: run["trigger_source"] for run in runs} == {
        run_now_id: "manual", answer["dag_run_id"]: "http"
    }

    # The conf Airflow's own form sends (one value per param) runs the same; Airflow refuses a bad one.
    conf = {"instance_ids": [], "tag_key": "Env", "tag_value": "test", "wait_until_final_state": True}
    assert api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_now_id}").json()["conf"] == conf
    from_airflow = api.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
    assert from_airflow.status_code == 200, from_airflow.text
    assert wait_for_run_end(api, dag_id, from_airflow.json()["dag_run_id"]) == "success"
    refused = api.post(f"/api/v2/dags/{dag_id}/dagRuns",
                       json={"logical_date": None, "conf": {**conf, "instance_ids": ["i-nope"]}})
    assert refused.status_code == 400, refused.text
    assert "instance_ids" in refused.text
    page.context.close()


def test_a_user_without_edit_rights_sees_the_job_with_every_secret_masked(
    browser: Browser, stack: EmbeddedStack, api: httpx.Client
):
    job = create_job_with_api(api, f"Viewer can read {uuid.uuid4().hex[:6]}", post_processing={"on_failure": [
        {"type": "webhook", "parameters": {"url": "https://hooks.example.com/ops", "authorization": "Bearer viewer-1"}}
    ]})
    secrets = (job["token"], job["trigger_url"].rsplit("/", 1)[1], "viewer-1")
    page = new_page(browser, stack)
    log_in(page, VIEWER_USERNAME, stack_password(stack, VIEWER_USERNAME))
    frame = open_http_trigger(page)
    expect(frame.get_by_role("link", name="New job")).to_have_count(0)
    frame.get_by_role("searchbox").fill(job["name"])
    frame.get_by_role("link", name=job["name"]).click()

    expect(frame.locator("#trigger-url")).to_have_text(re.compile(r"/http-trigger/trigger/••••$"))
    expect(frame.locator("#token")).to_have_text("••••")
    expect(frame.locator("#no-token")).to_be_visible()
    expect(frame.locator("#curl")).to_contain_text("CAAuth ••••")
    expect(frame.locator("#settings")).to_contain_text("authorization: ••••")
    labels = ("Reveal", "Copy", "Copy curl command", "Update URL and token", "Run now", "Delete", "Disable")
    for label in labels:
        expect(frame.get_by_role("button", name=label, exact=True)).to_have_count(0)
    expect(frame.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    html = page.frame_locator(FRAME).locator("html").inner_html()
    assert [secret for secret in secrets if secret in html] == []
    shoot(page, "job-detail-viewer")

    # The edit form is not theirs: its address shows the job instead.
    page.goto(f"/plugin/http-trigger/http-trigger/ui/jobs/{job['id']}/edit")
    expect(page.frame_locator(FRAME).get_by_role("heading", name=job["name"])).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/http-trigger/ui/jobs/{job['id']}$"))  # Airflow mirrors the frame

    # The API says the same, and refuses the viewer's reveal and changes.
    viewer_token = stack.get_api_token(VIEWER_USERNAME, stack_password(stack, VIEWER_USERNAME))
    viewer = httpx.Client(
        base_url=stack.api_url, timeout=30, headers={"Authorization": f"Bearer {viewer_token}"}
    )
    assert viewer.get(f"/http-trigger/api/jobs/{job['id']}").json()["token"] == "••••"
    assert viewer.post(f"/http-trigger/api/jobs/{job['id']}/secrets/reveal").status_code == 403
    assert viewer.post(f"/http-trigger/api/jobs/{job['id']}/rotate").status_code == 403
    assert viewer.post(f"/http-trigger/api/jobs/{job['id']}/runs").status_code == 403
    viewer.close()
    page.context.close()


def test_pages_need_the_airflow_login_and_refuse_cross_site_changes(
    browser: Browser, stack: EmbeddedStack, api: httpx.Client
):
    job = create_job_with_api(api, f"Login required {uuid.uuid4().hex[:6]}")
    page = new_page(browser, stack)
    page.goto(f"/http-trigger/ui/jobs/{job['id']}")
    expect(page).to_have_url(re.compile(r"/auth/login"))
    assert job["name"] not in page.content()
    anonymous = page.request.get(f"/http-trigger/api/jobs/{job['id']}")
    assert anonymous.status == 401

    # Logging in on that page comes back to the job, inside Airflow's UI.
    page.get_by_label("Username").fill(stack.admin_username)
    page.get_by_label("Password").fill(stack.admin_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.frame_locator(FRAME).get_by_role("heading", name=job["name"])).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/plugin/http-trigger/http-trigger/ui/jobs/{job['id']}$"))

    # With the login cookie, a change without the pages' header is refused (CSRF); with it, it works.
    forged = page.request.post(f"/http-trigger/api/jobs/{job['id']}/rotate")
    assert forged.status == 403
    assert "X-Requested-With" in forged.json()["detail"]
    allowed = page.request.post(
        f"/http-trigger/api/jobs/{job['id']}/rotate", headers={"X-Requested-With": "http-trigger-ui"}
    )
    assert allowed.status == 200
    pages = page.request.get("/http-trigger/ui/jobs")
    assert "frame-ancestors 'self'" in pages.headers["content-security-policy"]
    page.context.close()


def test_pages_fit_a_narrow_window_and_follow_the_dark_theme(
    browser: Browser, stack: EmbeddedStack, api: httpx.Client
):
    job = create_job_with_api(api, f"Narrow and dark {uuid.uuid4().hex[:6]}", parameters_at_execution=True,
                              parameters={})
    wait_for(lambda: api.get(f"/http-trigger/api/jobs/{job['id']}").json()["is_paused"] is not None,
             timeout=120, what="the job to be loaded")

    narrow = new_page(browser, stack, width=420, height=860)
    log_in(narrow, stack.admin_username, stack.admin_password)
    narrow.goto(f"/plugin/http-trigger/http-trigger/ui/jobs/{job['id']}")
    frame = narrow.frame_locator(FRAME)
    expect(frame.get_by_role("heading", name=job["name"])).to_be_visible()
    expect(frame.locator("#example-body")).to_contain_text("instance_ids")
    width = frame.locator("body").evaluate("body => body.scrollWidth - body.clientWidth")
    assert width <= 1, f"the detail page scrolls sideways by {width} px at 420 px"
    shoot(narrow, "job-detail-narrow")
    frame.get_by_role("link", name="Operation jobs").first.click()
    expect(frame.locator("#jobs-body tr").first).to_be_visible()
    shoot(narrow, "jobs-list-narrow")
    narrow.context.close()

    dark = new_page(browser, stack, color_scheme="dark")
    log_in(dark, stack.admin_username, stack.admin_password)
    dark.goto(f"/plugin/http-trigger/http-trigger/ui/jobs/{job['id']}")
    frame = dark.frame_locator(FRAME)
    expect(frame.get_by_role("heading", name=job["name"])).to_be_visible()
    expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    shoot(dark, "job-detail-dark")
    dark.context.close()
