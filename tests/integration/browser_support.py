"""What the browser tests share: Debian's Chromium, logging in through Airflow, the job pages' frame.

The ``browser`` fixture itself is in ``conftest.py``; every ``test_pages*.py`` module takes it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, FrameLocator, Page, expect

from devstack import demo
from devstack.stack import EmbeddedStack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# `make screenshots` points this at docs/screenshots (the README's pictures); a plain test run keeps
# its pictures in the suite's Airflow home, which goes when the session ends.
SCREENSHOTS = Path(
    os.environ.get("HTTP_TRIGGER_SCREENSHOTS") or Path(os.environ["AIRFLOW_HOME"]) / "screenshots"
)
FRAME = "iframe[title='HTTP Trigger']"
# The plugin's pages as Airflow's UI frames them.
UI = "/plugin/http-trigger/http-trigger/ui"
# Several stacks may share this machine's two cores: waits are generous, and never asserted on.
WAIT_MS = 90_000
RUN_WAIT_MS = 240_000
CURL_PATTERN = re.compile(
    r'^curl -X POST -H "Authorization: CAAuth ([A-Za-z0-9_-]+)" -H "Content-Length: 0" (\S+)$'
)
CURL_WITH_BODY_PATTERN = re.compile(
    r'^curl -X POST -H "Authorization: CAAuth ([A-Za-z0-9_-]+)" -H "Content-Type: application/json" '
    r"-d '(.+)' (\S+)$"
)


def new_page(browser: Browser, stack: EmbeddedStack, *, width: int = 1280, height: int = 860,
             color_scheme: str = "light", locale: str = "en-US", airflow_language: str | None = None) -> Page:
    """Open a page in a browser of its own, speaking ``locale``; ``airflow_language`` is the one picked in Airflow's UI."""
    context = browser.new_context(
        base_url=stack.api_url, viewport={"width": width, "height": height}, color_scheme=color_scheme, locale=locale
    )
    if airflow_language:
        # Where Airflow's UI keeps the language picked in its menu (i18next's cache).
        context.add_init_script(f"window.localStorage.setItem('i18nextLng', {json.dumps(airflow_language)})")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.api_url)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    return page


def log_in(page: Page, username: str, password: str) -> None:
    """Log in through Airflow's own login page, as a person does."""
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="HTTP Trigger")).to_be_visible()


def open_http_trigger(page: Page) -> FrameLocator:
    """Click "HTTP Trigger" in Airflow's nav; the pages open in Airflow's frame."""
    page.get_by_role("link", name="HTTP Trigger").click()
    frame = page.frame_locator(FRAME)
    expect(frame.get_by_role("heading", name="Operation jobs")).to_be_visible()
    return frame


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let the frame paint its last update
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def field(frame: FrameLocator, loc: str):
    """The form field whose errors are keyed ``loc`` (e.g. ``action.parameters.tag_key``)."""
    return frame.locator(f'.field[data-loc="{loc}"]')


def next_step(frame: FrameLocator, title: str) -> None:
    frame.get_by_role("button", name="Next").click()
    expect(frame.get_by_role("heading", name=title, exact=True)).to_be_visible()


def frame_path(page: Page) -> str:
    """The path of the page shown in Airflow's frame (Airflow mirrors it in its own URL)."""
    frame = next(f for f in page.frames if "/http-trigger/ui/" in f.url)
    return httpx.URL(frame.url).path


def create_job_with_api(api: httpx.Client, name: str, post_processing: dict[str, Any] | None = None,
                        **action: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "group": "browser-tests",
        "action": {"type": "ec2_start_instances", "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION,
                   "parameters": {"tag_key": "Env", "tag_value": "test"}, **action},
        "post_processing": post_processing or {},
    }
    response = api.post("/http-trigger/api/jobs", json=body)
    assert response.status_code == 201, response.text
    return response.json()
