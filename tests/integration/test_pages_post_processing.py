"""The shared post-processing definitions in a real browser: their page, and the job form's choice.

An editor creates a definition on its page (reached from the job list), a viewer reads it with its
secret masked and no controls, an editor's job form makes a step a reference to it, the job's page
links to it, and its page refuses to delete it while the job uses it, naming the job.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, expect

from devstack.stack import EmbeddedStack

from .browser_support import (
    FRAME,
    UI,
    create_job_with_api,
    frame_path,
    log_in,
    new_page,
    next_step,
    open_http_trigger,
    shoot,
)
from .conftest import VIEWER_USERNAME, stack_password

pytestmark = pytest.mark.integration

SECRET = "Bearer page-secret-1"


def test_a_definition_is_created_on_its_page_referenced_from_the_job_form_and_kept_while_in_use(
    browser: Browser, stack: EmbeddedStack, api: httpx.Client
):
    name = f"browser-hook-{uuid.uuid4().hex[:6]}"
    page = new_page(browser, stack)
    log_in(page, stack.admin_username, stack.admin_password)
    frame = open_http_trigger(page)

    frame.get_by_role("link", name="Post-processing").click()
    expect(frame.get_by_role("heading", name="Post-processing")).to_be_visible()
    frame.get_by_role("button", name="New definition").click()
    frame.get_by_label("Name", exact=True).fill(name)
    frame.get_by_label("Post-processing", exact=True).select_option("webhook")
    frame.get_by_label("URL").fill("https://hooks.example.com/browser")
    frame.get_by_label("Authorization header").fill(SECRET)
    frame.get_by_role("button", name="Save").click()
    row = frame.locator(f'tr[data-definition="{name}"]')
    expect(row).to_contain_text("Webhook")
    expect(row.locator(".used-by")).to_have_text("none")
    shoot(page, "post-processing-list")
    stored = api.get(f"/http-trigger/api/post-processing/{name}").json()
    assert stored["parameters"]["url"] == "https://hooks.example.com/browser"
    assert stored["masked_fields"] == ["parameters.authorization"]

    # The job form: a step is an inline step or a shared definition.
    job = create_job_with_api(api, f"Uses {name}")
    page.goto(f"{UI}/jobs/{job['id']}/edit?step=post")
    frame = page.frame_locator(FRAME)
    frame.get_by_role("button", name="Add post-processing on success").click()
    step = frame.locator("#post-on_success .post-item").first
    expect(step.get_by_label("Post-processing", exact=True)).to_be_visible()  # inline first
    step.get_by_label("Step", exact=True).select_option("shared")
    step.get_by_label("Shared definition").select_option(name)
    expect(step).to_contain_text("Open the definition")
    expect(step.get_by_label("Post-processing", exact=True)).to_have_count(0)
    shoot(page, "job-form-shared-definition")
    next_step(frame, "Job name")
    next_step(frame, "Confirm")
    expect(frame.locator("#summary")).to_contain_text(f"Shared definition {name}")
    frame.get_by_role("button", name="Save changes").click()

    # The job's page names the definition and links to it; its page opens on it.
    link = frame.locator("a.definition-link")
    expect(link).to_have_text(name)
    assert api.get(f"/http-trigger/api/jobs/{job['id']}").json()["post_processing"]["on_success"] == [{"ref": name}]
    link.click()
    expect(frame.get_by_role("heading", name=f"Definition {name}")).to_be_visible()
    assert frame_path(page).endswith(f"/ui/post-processing/{name}")
    expect(frame.locator("#definition-users")).to_contain_text(job["name"])

    # In use: Delete is refused, naming the job.
    frame.locator(f'tr[data-definition="{name}"]').get_by_role("button", name="Delete").click()
    frame.get_by_role("button", name="Delete", exact=True).last.click()
    expect(frame.locator("#notices")).to_contain_text(f"is used by jobs {job['id']} ({job['name']})")
    assert api.get(f"/http-trigger/api/post-processing/{name}").status_code == 200

    # A viewer reads the definition, its secret masked, with no control.
    viewer = new_page(browser, stack)
    log_in(viewer, VIEWER_USERNAME, stack_password(stack, VIEWER_USERNAME))
    viewer.goto(f"{UI}/post-processing/{name}")
    viewer_frame = viewer.frame_locator(FRAME)
    expect(viewer_frame.get_by_role("heading", name=f"Definition {name}")).to_be_visible()
    expect(viewer_frame.get_by_label("Authorization header")).to_have_value(re.compile("^••••[0-9a-f]{8}$"))
    expect(viewer_frame.get_by_label("Authorization header")).to_be_disabled()
    expect(viewer_frame.get_by_role("button", name="Save")).to_be_hidden()
    expect(viewer_frame.get_by_role("button", name="New definition")).to_have_count(0)
    expect(viewer_frame.get_by_role("button", name="Delete")).to_have_count(0)
