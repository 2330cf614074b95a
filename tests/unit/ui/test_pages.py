"""The page shells under ``/ui``: login redirect, escaping, security headers, static files, nav entry."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from fastapi.testclient import TestClient
from http_trigger.field_messages import MESSAGES
from http_trigger.jobs.model import JobBody
from http_trigger.plugin import HttpTriggerPlugin
from http_trigger.ui.i18n import messages
from http_trigger.ui.pages import CONTENT_SECURITY_POLICY, catalogue

PAGES = [
    "/ui/jobs",
    "/ui/jobs/new",
    "/ui/jobs/7",
    "/ui/jobs/7/edit",
    "/ui/jobs/7/runs",
    "/ui/jobs/7/runs/manual__x",
    "/ui/post-processing",
    "/ui/post-processing/team-slack",
]


def log_in(client: TestClient, role: str = "admin") -> None:
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=role, role=role))
    client.cookies.set("_token", token)


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_login_sends_the_browser_to_airflows_login_and_back(client, path):
    response = client.get(path, follow_redirects=False)

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/api/v2/auth/login"
    assert parse_qs(location.query)["next"] == [f"/plugin/http-trigger/http-trigger{path}"]
    assert "job" not in response.text.lower()


def test_the_login_comes_back_to_the_edit_forms_step(client):
    response = client.get("/ui/jobs/7/edit?step=6", follow_redirects=False)

    assert response.status_code == 303
    next_page = parse_qs(urlsplit(response.headers["location"]).query)["next"]
    assert next_page == ["/plugin/http-trigger/http-trigger/ui/jobs/7/edit?step=6"]


@pytest.mark.parametrize("path", PAGES)
def test_a_page_for_a_logged_in_user_is_a_shell_that_only_frames_on_airflow(client, path):
    log_in(client)

    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'self'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert 'data-api-root="/http-trigger/api"' in response.text


def test_values_in_a_page_are_escaped(client):
    log_in(client)

    response = client.get('/ui/jobs/7/runs/manual__"><script>alert(1)</script>')

    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert 'data-run-id="manual__&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in response.text


def test_the_embedded_catalogue_cannot_close_its_script_element(client):
    log_in(client)
    schemas = str(catalogue("en"))
    assert "<" in schemas  # e.g. the HTML of the mail body's default

    response = client.get("/ui/jobs/new")

    start = response.text.index('<script type="application/json" id="catalogue">')
    block = response.text[start : response.text.index("</script>", start)]
    assert "<" not in block.removeprefix('<script type="application/json" id="catalogue">')
    assert "\\u003c" in block


@pytest.mark.parametrize("path", ["/ui/jobs/new", "/ui/jobs/7/edit"])
def test_the_form_checks_with_the_apis_schema_and_words_and_cuts_nothing_short(client, path):
    """The form's own checks need the job model's schema and the API's messages; a maxlength would cut."""
    log_in(client)

    response = client.get(path)

    embedded = catalogue("en")
    assert embedded["job_schema"] == JobBody.model_json_schema()
    assert embedded["field_messages"] == MESSAGES
    assert re.compile(embedded["example_in_description"]).search("e.g. t3.large.").group(1) == "t3.large"
    assert "maxlength" not in response.text
    assert '<option value="ap-northeast-1">' in response.text


def test_a_japanese_page_embeds_the_schemas_and_the_words_of_the_checks_in_japanese(client):
    log_in(client)

    page = client.get("/ui/jobs/new?lng=ja").text

    embedded = catalogue("ja")
    start_instances = next(item for item in embedded["actions"] if item["name"] == "ec2_start_instances")
    assert start_instances["title"] == "EC2: インスタンスを起動"
    assert start_instances["parameters_schema"]["properties"]["instance_ids"]["title"] == "インスタンス ID"
    assert embedded["job_schema"]["properties"]["name"]["title"] == "名前"
    assert embedded["field_messages"]["enter"] == "「{field}」を入力してください"
    assert re.compile(embedded["example_in_description"]).search("（例: t3.large）。").group(1) == "t3.large"
    assert "EC2: Start instances" not in page and "Instance ids" not in page


def test_the_user_name_is_shown_and_new_job_is_offered_only_to_creators(client):
    log_in(client, "viewer")
    viewer_page = client.get("/ui/jobs").text
    log_in(client, "user")
    user_page = client.get("/ui/jobs").text

    assert '<span class="user" title="Logged in to Airflow">viewer</span>' in viewer_page
    assert 'id="new-job"' not in viewer_page and 'data-can-create="false"' in viewer_page
    assert 'id="new-job"' in user_page and 'data-can-create="true"' in user_page


@pytest.mark.parametrize(("role", "editor"), [("viewer", False), ("user", True), ("admin", True)])
def test_a_jobs_edit_form_is_for_its_editors_only_others_see_the_job(client, role, editor):
    log_in(client, role)

    response = client.get("/ui/jobs/7/edit", follow_redirects=False)

    if editor:
        assert response.status_code == 200
        assert 'data-page="edit"' in response.text
    else:
        assert (response.status_code, response.headers["location"]) == (303, "/http-trigger/ui/jobs/7")


def test_links_carry_the_path_of_airflows_base_url(client, monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example/tools/airflow/")
    log_in(client)

    page = client.get("/ui/jobs").text
    redirect = client.get("/ui", follow_redirects=False)

    assert 'data-ui-root="/tools/airflow/http-trigger/ui"' in page
    assert 'data-airflow-root="/tools/airflow"' in page
    assert 'href="/tools/airflow/http-trigger/ui/static/pages.css?v=' in page
    assert redirect.headers["location"] == "/tools/airflow/http-trigger/ui/jobs"


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("common.js", "text/javascript"), ("pages.css", "text/css"), ("icon.svg", "image/svg+xml")],
)
def test_static_files_are_served_with_their_type(client, name, media_type):
    response = client.get(f"/ui/static/{name}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", ["missing.js", "pages.py", ".hidden.js", "..%2Fpages.py", "COMMON.JS"])
def test_nothing_else_is_served_as_a_static_file(client, name):
    assert client.get(f"/ui/static/{name}").status_code == 404


def test_the_nav_entry_opens_the_job_list_in_airflows_frame():
    [view] = HttpTriggerPlugin.external_views

    assert view["name"] == "HTTP Trigger"
    assert view["href"] == "/http-trigger/ui/jobs"
    assert view["url_route"] == "http-trigger"
    assert view["destination"] == "nav"
    assert view["icon"] == "/http-trigger/ui/static/icon.svg"


def test_a_runs_page_opens_on_what_went_wrong_with_the_full_error_folded(client):
    log_in(client)

    html = client.get("/ui/jobs/7/runs/manual__x").text

    order = [html.index(f'id="{part}"') for part in ("failure", "run-props", "run-params", "steps-card", "tasks")]
    assert order == sorted(order)
    assert '<details id="failure-details">' in html  # folded: no "open"


def test_a_page_speaks_the_language_the_browser_asks_for_and_carries_its_messages(client):
    log_in(client)

    japanese = client.get("/ui/jobs/7/runs", headers={"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.8"}).text
    english = client.get("/ui/jobs/7/runs", headers={"Accept-Language": "fr,en;q=0.5"}).text

    assert '<html lang="ja"' in japanese and '<html lang="en"' in english
    assert "<title>ジョブ 7 の実行ログ · HTTP Trigger</title>" in japanese
    assert "<title>Executions of job 7 · HTTP Trigger</title>" in english
    start = japanese.index('<script type="application/json" id="messages">')
    embedded = japanese[japanese.index(">", start) + 1 : japanese.index("</script>", start)]
    assert json.loads(embedded) == messages("ja")
    assert 'data-languages="en ja" data-language-cookie="http_trigger_language"' in japanese


def test_airflows_language_in_the_query_wins_over_the_browsers(client):
    log_in(client)

    page = client.get("/ui/jobs?lng=ja", headers={"Accept-Language": "en"}).text

    assert "<h1>ジョブ一覧</h1>" in page


def test_the_post_processing_page_names_the_definition_it_opens_escaped_and_offers_new_only_to_editors(client):
    log_in(client, "viewer")
    viewer_page = client.get('/ui/post-processing/x"><b>').text
    log_in(client, "user")
    user_page = client.get("/ui/post-processing").text

    assert 'data-definition-name="x&#34;&gt;&lt;b&gt;"' in viewer_page and "<b>" not in viewer_page
    assert 'id="new-definition"' not in viewer_page and 'id="new-definition"' in user_page
    assert 'src="/http-trigger/ui/static/post-processing.js?v=' in user_page
