"""A run's page in a real browser: it opens on what went wrong, with the parameters, and links both ways with Airflow.

One job's action fails (it starts an EC2 instance moto does not have); another's action succeeds and
its webhook step fails; a third's action is marked failed in Airflow while it runs, so it reports
nothing and its page reads why from the task's log. Each run's page shows the error on one line first (the step's as a warning),
the full error and log folded under it, the parameters the run received and who started it as the
run lists say; it loads once in Airflow's frame, fits a phone's width, and links to the DAG, the run
and the task log in Airflow's UI, where each task links back to the job. The pages are photographed.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack import demo
from devstack.stack import EmbeddedStack

from .browser_support import FRAME, log_in, new_page, shoot
from .conftest import WebhookReceiver, create_job, no_action_job, task_states, wait_for, wait_for_run_end

pytestmark = pytest.mark.integration

MISSING_INSTANCE = "i-0000000000000dead"
JOB_LINK = "HTTP Trigger job"
# "AirflowException: …", "ClientError: …": a line an operator reads never starts with a type.
EXCEPTION_TYPE_FIRST = re.compile(r"^\s*[\w.]+(Exception|Error)\b")


def run_page_path(job_id: int, run_id: str) -> str:
    return f"/plugin/http-trigger/http-trigger/ui/jobs/{job_id}/runs/{run_id}"


def airflow_path(dag_id: str, run_id: str, task_id: str | None = None) -> str:
    path = f"/dags/{dag_id}/runs/{quote(run_id, safe='')}"
    return f"{path}/tasks/{task_id}" if task_id else path


def logged_an_error(api: httpx.Client, log_url: str) -> bool:
    """Whether a task's log (Airflow's structured entries) holds a line at error level."""
    entries = api.get(log_url, params={"full_content": "true"}).json().get("content", [])
    return any(isinstance(entry, dict) and entry.get("level") in ("error", "critical") for entry in entries)


def finished_run(api: httpx.Client, job: dict[str, Any], run_id: str) -> str:
    state = wait_for_run_end(api, job["dag_id"], run_id)
    task_states(api, job["dag_id"], run_id)  # the post-processing steps have ended too
    return state


def open_run_from_the_execution_list(page: Page, job_id: int, run_id: str):
    """Open the job's execution list in Airflow's frame, then the run's page from its row."""
    page.goto(f"/plugin/http-trigger/http-trigger/ui/jobs/{job_id}/runs")
    frame = page.frame_locator(FRAME)
    row = frame.locator(f'tr[data-run-id="{run_id}"]')
    caller = row.locator("td.caller").inner_text()
    row.get_by_role("link", name=run_id).click()
    expect(frame.locator("#run-props")).to_contain_text(run_id)
    return frame, caller


def test_a_failed_run_opens_on_the_actions_error_with_its_parameters_and_links_to_airflow(
    browser: Browser, stack: EmbeddedStack, api: httpx.Client, webhook_receiver: WebhookReceiver
):
    suffix = uuid.uuid4().hex[:6]
    job = create_job(api, {
        "name": f"Start a missing instance {suffix}",
        "group": "browser-tests",
        "description": "<b>Starts</b> the *missing* instance",
        "action": {"type": "ec2_start_instances", "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION,
                   "parameters_at_execution": True, "parameters": {}},
        "post_processing": {"on_failure": [
            {"type": "webhook", "parameters": {"url": f"{webhook_receiver.url}/runs-page/{suffix}"}}
        ]},
    })
    dag_id = job["dag_id"]
    answer = httpx.post(job["trigger_url"], headers={"Authorization": f"CAAuth {job['token']}"},
                        json={"instance_ids": [MISSING_INSTANCE]}, timeout=30)
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["dag_run_id"]
    assert finished_run(api, job, run_id) == "failed"

    page = new_page(browser, stack)
    log_in(page, stack.admin_username, stack.admin_password)
    documents: list[str] = []
    aborted: list[str] = []
    page.on("request", lambda request: request.resource_type == "document" and "/runs/" in request.url
            and documents.append(request.url))
    page.on("requestfailed", lambda request: aborted.append(f"{request.method} {request.url}"))
    frame, listed_caller = open_run_from_the_execution_list(page, job["id"], run_id)

    # The error first, on one line, worded for people; the full error and the log folded under it.
    failure = frame.locator("#failure")
    expect(failure).to_be_visible()
    expect(failure).to_have_class(re.compile(r"\berror\b"))
    expect(frame.locator("#failure-title")).to_have_text("The action failed")
    message = frame.locator("#failure-message")
    expect(message).to_contain_text(MISSING_INSTANCE)
    assert not EXCEPTION_TYPE_FIRST.match(message.inner_text()), message.inner_text()
    assert "\n" not in message.inner_text().strip()
    first_card = frame.locator("main section.card:visible").first
    expect(first_card).to_have_id("failure")
    details = frame.locator("#failure-details")
    expect(details).not_to_have_attribute("open", re.compile(".*"))
    expect(frame.locator("#failure-trace")).to_be_hidden()
    expect(frame.locator('section.task[data-task-id="action"] details.task-log')).not_to_have_attribute(
        "open", re.compile(".*")
    )

    # What the run received, and who started it as the execution list says.
    params = frame.locator("#run-params")
    expect(params.locator('dd[data-param="instance_ids"]')).to_have_text(MISSING_INSTANCE)
    expect(params.locator('dd[data-param="wait_until_final_state"]')).to_have_text("true")
    expect(frame.locator("#no-params")).to_be_hidden()
    assert listed_caller == "127.0.0.1"
    expect(frame.locator("#run-caller")).to_have_text(listed_caller)
    shoot(page, "run-detail-failure")

    # One click opens the traceback, at its top.
    frame.get_by_text("Full error and log").click()
    expect(frame.locator("#failure-trace")).to_be_visible()
    expect(frame.locator("#failure-trace")).to_contain_text(MISSING_INSTANCE)
    assert frame.locator("#failure-log").evaluate("pre => pre.scrollTop") == 0

    # The page loaded once in Airflow's frame: no second load aborting the first one's requests.
    run_documents = [url for url in documents if re.search(rf"/ui/jobs/{job['id']}/runs/.", url)]
    assert len(run_documents) == 1, run_documents
    assert [request for request in aborted if "/http-trigger/api/" in request or "/logs/" in request] == []

    # Links into Airflow's UI: the DAG, the run, the failed task's log.
    expect(frame.get_by_role("link", name="DAG", exact=True)).to_have_attribute("href", f"/dags/{dag_id}")
    expect(frame.get_by_role("link", name="Run", exact=True)).to_have_attribute("href", airflow_path(dag_id, run_id))
    task_link = frame.locator("#failure-task-link")
    expect(task_link).to_have_attribute("href", airflow_path(dag_id, run_id, "action"))
    expect(frame.locator('section.task[data-task-id="action"]').get_by_role("link", name="Log in Airflow")).to_have_attribute(
        "href", airflow_path(dag_id, run_id, "action")
    )

    # And back: the DAG's docs and each task's extra link lead to the job's page.
    job_page = f"/plugin/http-trigger/http-trigger/ui/jobs/{job['id']}"
    details_json = api.get(f"/api/v2/dags/{dag_id}/details").json()
    assert f"({job_page})" in details_json["doc_md"]
    assert "\\<b\\>Starts\\<\\/b\\> the \\*missing\\* instance" in details_json["doc_md"]
    for task_id in ("action", "on_failure_1_webhook"):
        links = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/links").json()
        assert links["extra_links"] == {JOB_LINK: job_page}, (task_id, links)

    # Following the task link leaves the frame for Airflow's own task page; its details link back to the job.
    task_link.click()
    expect(page).to_have_url(re.compile(re.escape(airflow_path(dag_id, run_id, "action")) + r"(/.*)?$"))
    page.goto(airflow_path(dag_id, run_id, "action") + "/details")
    expect(page.get_by_role("link", name=JOB_LINK)).to_have_attribute("href", job_page)
    shoot(page, "airflow-task-job-link")
    page.get_by_role("link", name=JOB_LINK).click()
    expect(page.frame_locator(FRAME).get_by_role("heading", name=job["name"])).to_be_visible()
    page.goto(f"/dags/{dag_id}")
    page.get_by_role("button", name="Dag Docs").click()
    docs = page.get_by_role("dialog")
    expect(docs.get_by_text("<b>Starts</b> the *missing* instance")).to_be_visible()
    expect(docs.get_by_role("link", name="Open the job in HTTP Trigger")).to_have_attribute("href", job_page)
    shoot(page, "airflow-dag-docs")
    page.context.close()

    # At a phone's width the page does not scroll sideways, the error still first.
    narrow = new_page(browser, stack, width=390, height=844)
    log_in(narrow, stack.admin_username, stack.admin_password)
    narrow.goto(run_page_path(job["id"], run_id))
    frame = narrow.frame_locator(FRAME)
    expect(frame.locator("#failure-message")).to_contain_text(MISSING_INSTANCE)
    frame.get_by_text("Full error and log").click()
    expect(frame.locator("#failure-trace")).to_be_visible()
    frame.locator('section.task[data-task-id="action"] details.task-log > summary').click()
    width = frame.locator("body").evaluate("body => body.scrollWidth - body.clientWidth")
    assert width <= 1, f"the run's page scrolls sideways by {width} px at 390 px"
    frame.locator("#failure-details > summary").click()
    frame.locator('section.task[data-task-id="action"] details.task-log > summary').click()
    frame.locator("body").evaluate("() => window.scrollTo(0, 0)")
    shoot(narrow, "run-detail-narrow")
    narrow.context.close()


def test_a_run_whose_notification_failed_opens_on_that_steps_error_as_a_warning(
    browser: Browser, stack: EmbeddedStack, api: httpx.Client, webhook_receiver: WebhookReceiver
):
    suffix = uuid.uuid4().hex[:6]
    job = create_job(api, no_action_job(
        f"Notify a broken hook {suffix}",
        on_success=[{"type": "webhook", "retries": 0, "parameters": {"url": f"{webhook_receiver.url}/broken/{suffix}"}}],
    ))
    started = api.post(f"/http-trigger/api/jobs/{job['id']}/runs")  # Run now, as the admin
    assert started.status_code == 201, started.text
    run_id = started.json()["dag_run_id"]
    assert finished_run(api, job, run_id) == "success"

    page = new_page(browser, stack)
    log_in(page, stack.admin_username, stack.admin_password)
    frame, listed_caller = open_run_from_the_execution_list(page, job["id"], run_id)

    failure = frame.locator("#failure")
    expect(failure).to_have_class(re.compile(r"\bwarning\b"))
    expect(frame.locator("#failure-title")).to_contain_text("warning")
    expect(frame.locator("#failure-title")).to_contain_text("On success 1: webhook")
    expect(frame.locator("#failure-message")).to_contain_text("500")
    expect(frame.locator('#steps tr[data-step="on_success_1_webhook"]')).to_contain_text("answered 500")
    assert not EXCEPTION_TYPE_FIRST.match(frame.locator("#failure-message").inner_text())
    expect(frame.locator("main section.card:visible").first).to_have_id("failure")
    expect(frame.locator('#run-state[data-outcome="succeeded_with_warnings"]')).to_be_visible()
    expect(frame.locator("#no-params")).to_be_visible()
    expect(frame.locator("#failure-task-link")).to_have_attribute(
        "href", airflow_path(job["dag_id"], run_id, "on_success_1_webhook")
    )

    # "Caller" reads the same in both run lists and on the run's page.
    assert listed_caller == stack.admin_username
    expect(frame.locator("#run-caller")).to_have_text(listed_caller)
    shoot(page, "run-detail-warning")
    frame.get_by_role("link", name=job["name"]).click()
    recent = frame.locator(f'#recent-runs tr[data-run-id="{run_id}"]')
    expect(recent.locator("td.caller")).to_have_text(listed_caller)
    expect(recent.get_by_role("link", name="in Airflow")).to_have_attribute("href", airflow_path(job["dag_id"], run_id))
    expect(recent.get_by_role("link", name="action log")).to_have_attribute(
        "href", airflow_path(job["dag_id"], run_id, "action")
    )
    expect(frame.get_by_role("link", name=job["dag_id"])).to_have_attribute("href", f"/dags/{job['dag_id']}")
    page.context.close()


def test_an_action_stopped_from_airflow_still_opens_on_a_line_that_says_why(
    browser: Browser, stack: EmbeddedStack, api: httpx.Client
):
    job = create_job(api, {
        "name": f"Wait to be stopped {uuid.uuid4().hex[:6]}",
        "group": "browser-tests",
        "action": {"type": "utility_delay", "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION,
                   "parameters": {"minutes": 0.75}},
    })
    dag_id = job["dag_id"]
    run_id = api.post(f"/http-trigger/api/jobs/{job['id']}/runs").json()["dag_run_id"]
    action = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/action"
    wait_for(lambda: api.get(action).json()["state"] == "running", timeout=120, what="the action to run")
    stopped = api.patch(action, json={"new_state": "failed"})  # an operator marks it failed in Airflow
    assert stopped.status_code == 200, stopped.text
    assert finished_run(api, job, run_id) == "failed"
    # Killed, the task reported nothing: the line comes from its log.
    run = api.get(f"/http-trigger/api/jobs/{job['id']}/runs/{run_id}").json()
    assert (run["failure"]["task_id"], run["failure"]["message"]) == ("action", None)
    # The run fails at once; the task's supervisor stops the task at its next heartbeat and only then
    # logs why. The page reads the log as it is when opened, so open it once that line is there.
    log_url = next(task["log_url"] for task in run["tasks"] if task["task_id"] == "action")
    wait_for(
        lambda: logged_an_error(api, log_url), timeout=60, what="the supervisor to log why the task stopped"
    )

    page = new_page(browser, stack)
    log_in(page, stack.admin_username, stack.admin_password)
    page.goto(run_page_path(job["id"], run_id))
    frame = page.frame_locator(FRAME)
    expect(frame.locator("#failure-title")).to_have_text("The action failed")
    message = frame.locator("#failure-message")
    expect(message).not_to_have_text(re.compile(r"^$|Reading why"))
    shown = message.inner_text().strip()
    assert not EXCEPTION_TYPE_FIRST.match(shown), shown
    assert not re.fullmatch(r"[\w.]+:?", shown), shown
    assert shown.startswith("The action stopped without an error message; its log ends with: "), shown
    page.context.close()
