"""``/http-trigger/ui/...``: the job pages Airflow's UI shows in its "HTTP Trigger" nav entry.

Each page is a small shell rendered with Jinja2 (autoescaped: every value is escaped) plus a
script that reads and changes jobs through the JSON API, which shows every secret masked. The
shells hold no job data, so a page route decides only whether the browser is logged in to Airflow
(if not, it sends the user to Airflow's login, which comes back here afterwards) and, for a job's
edit form, whether the user may edit that job (if not, it shows the job instead), and the language
the browser asks for (see ``i18n``): a page is rendered in it, with its messages for the script. Every answer
forbids framing by other sites (``frame-ancestors 'self'``) and allows scripts and styles only from
this server.
"""

from __future__ import annotations

import re
from functools import cache, partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from markupsafe import Markup, escape
from airflow.api_fastapi.core_api.security import get_user
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from http_trigger import __version__, settings
from http_trigger.actions import catalogue as action_catalogue
from http_trigger.jobs.access import may_access_job, may_create_jobs
from http_trigger.field_messages import EXAMPLE_IN_DESCRIPTION, messages_in, model_schema
from http_trigger.jobs.model import JobBody, PostProcessingSpec
from http_trigger.post_processing import POST_PROCESSING
from http_trigger.regions import known_regions
from http_trigger.translations import LANGUAGES, translated_text
from http_trigger.ui.i18n import LANGUAGE_COOKIE, messages, request_language, translate
from http_trigger.urls import page_in_airflow_path, plugin_path

ui_router = APIRouter(prefix="/ui", include_in_schema=False)

UI_FOLDER = Path(__file__).resolve().parent
STATIC_FOLDER = UI_FOLDER / "static"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.(js|css|svg)$")
_MEDIA_TYPES = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(UI_FOLDER / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _code(text: str) -> Markup:
    """Return ``text`` as a ``<code>`` element, for a message that shows a literal within its sentence."""
    return Markup("<code>{}</code>").format(escape(text))


@cache
def catalogue(language: str) -> dict[str, Any]:
    """Return the actions and post-processing kinds with their parameter schemas, as the forms use them.

    Actions come as ``GET /http-trigger/api/actions`` lists them (the form reads that route; the
    list and detail pages only need the titles from here). The same models validate jobs in the
    API. A post-processing step's own settings besides its type and parameters (e.g. ``retries``)
    come from the job model's schema. The forms check what is entered against these schemas and
    the job model's before they ask the API, in the API's words (the messages and the pattern that
    finds an example in a description). Every text is in the page's ``language``.
    """
    step_schema = model_schema(PostProcessingSpec, language)
    step_settings = {
        key: value
        for key, value in step_schema.get("properties", {}).items()
        if key not in ("type", "parameters")
    }
    return {
        "actions": action_catalogue(language),
        "post_processing": [
            {
                "name": name,
                "title": translated_text(kind.title, language),
                "description": translated_text(kind.description, language),
                "parameters_schema": model_schema(kind.parameters_model, language),
            }
            for name, kind in POST_PROCESSING.items()
        ],
        "post_processing_step": {"type": "object", "properties": step_settings},
        "job_schema": model_schema(JobBody, language),
        "field_messages": messages_in(language),
        "example_in_description": EXAMPLE_IN_DESCRIPTION.pattern,
    }


async def _logged_in_user(request: Request) -> Any | None:
    """Return the Airflow user of the browser's login cookie, or None when there is none or it expired."""
    try:
        return await get_user(request, None, None)
    except HTTPException:
        return None


def _login_redirect(ui_path: str, query: str) -> RedirectResponse:
    """Send the browser to Airflow's login, asking it to come back to this page inside Airflow's UI."""
    here = page_in_airflow_path(ui_path) + (f"?{query}" if query else "")
    login = f"{settings.airflow_base_path()}/api/v2/auth/login?{urlencode({'next': here})}"
    return RedirectResponse(login, status.HTTP_303_SEE_OTHER)


async def _page(
    request: Request,
    template: str,
    ui_path: str,
    *,
    title_key: str,
    title_values: dict[str, str] | None = None,
    editors_of: int | None = None,
    uses_catalogue: bool = False,
    **context: Any,
) -> Response:
    """Render a page shell for a logged-in user, or redirect to Airflow's login.

    Its title is the message ``title_key`` with ``title_values`` and the page's ``job_id``. A page only
    for the editors of job ``editors_of`` sends anyone else to that job's detail page. A page whose
    script ``uses_catalogue`` gets it in the page's language.
    """
    user = await _logged_in_user(request)
    if user is None:
        return _login_redirect(ui_path, request.url.query)
    root = plugin_path()
    if editors_of is not None and not may_access_job(user, "PUT", editors_of):
        return RedirectResponse(f"{root}/ui/jobs/{editors_of}", status.HTTP_303_SEE_OTHER)
    language = request_language(request)
    if uses_catalogue:
        context["catalogue"] = catalogue(language)
    job_id = context.pop("job_id", "")
    html = _templates.get_template(template).render(
        title=translate(language, title_key, job_id=job_id, **(title_values or {})),
        t=partial(translate, language),
        code=_code,
        language=language,
        languages=LANGUAGES,
        language_cookie=LANGUAGE_COOKIE,
        messages=messages(language),
        version=__version__,
        user_name=user.get_name(),
        can_create=may_create_jobs(user),
        ui_root=f"{root}/ui",
        api_root=f"{root}/api",
        airflow_root=settings.airflow_base_path(),
        static_root=f"{root}/ui/static",
        job_id=job_id,
        run_id=context.pop("run_id", ""),
        **context,
    )
    return HTMLResponse(html, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


@ui_router.get("")
def ui_root() -> RedirectResponse:
    """Open the job list."""
    return RedirectResponse(f"{plugin_path()}/ui/jobs", status.HTTP_307_TEMPORARY_REDIRECT)


@ui_router.get("/jobs", response_class=HTMLResponse)
async def jobs_page(request: Request) -> Response:
    """The job list: filter, sort, page; links to each job."""
    return await _page(request, "jobs.html", "/jobs", title_key="jobs.heading", uses_catalogue=True)


@ui_router.get("/jobs/new", response_class=HTMLResponse)
async def new_job_page(request: Request) -> Response:
    """The create form, step by step as the seed describes, ending on a Confirm page."""
    return await _page(
        request, "job_form.html", "/jobs/new", title_key="title.new_job", uses_catalogue=True,
        regions=known_regions(),
    )


@ui_router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(request: Request, job_id: int) -> Response:
    """A job's detail: settings, trigger URL, token and curl line (masked; editors reveal them), actions."""
    return await _page(
        request, "job_detail.html", f"/jobs/{job_id}", title_key="job.numbered", job_id=job_id,
        uses_catalogue=True,
    )


@ui_router.get("/jobs/{job_id}/edit", response_class=HTMLResponse)
async def edit_job_page(request: Request, job_id: int) -> Response:
    """The same form as for creating, filled with the job's settings, secrets masked; for its editors only."""
    return await _page(
        request, "job_form.html", f"/jobs/{job_id}/edit", title_key="title.edit_job", job_id=job_id,
        uses_catalogue=True, regions=known_regions(), editors_of=job_id,
    )


@ui_router.get("/jobs/{job_id}/runs", response_class=HTMLResponse)
async def job_runs_page(request: Request, job_id: int) -> Response:
    """The job's execution log: its runs, newest first."""
    return await _page(request, "job_runs.html", f"/jobs/{job_id}/runs", title_key="title.job_runs",
                       job_id=job_id)


@ui_router.get("/jobs/{job_id}/runs/{dag_run_id:path}", response_class=HTMLResponse)
async def run_page(request: Request, job_id: int, dag_run_id: str) -> Response:
    """One execution's log: each task's state and Airflow task log, refreshed while it runs."""
    return await _page(
        request, "run_log.html", f"/jobs/{job_id}/runs/{quote(dag_run_id, safe='')}", title_key="run.heading",
        job_id=job_id, run_id=dag_run_id,
    )


@ui_router.get("/post-processing", response_class=HTMLResponse)
async def post_processing_page(request: Request) -> Response:
    """The shared post-processing definitions: list, create, edit and delete (for those who may)."""
    return await _page(
        request, "post_processing.html", "/post-processing", title_key="definitions.heading",
        uses_catalogue=True, definition_name="",
    )


@ui_router.get("/post-processing/{name}", response_class=HTMLResponse)
async def post_processing_definition_page(request: Request, name: str) -> Response:
    """The same page, opened on one definition: its step and the jobs using it, editable by those who may."""
    return await _page(
        request, "post_processing.html", f"/post-processing/{quote(name, safe='')}",
        title_key="definitions.named", title_values={"name": name}, uses_catalogue=True, definition_name=name,
    )


@ui_router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """Serve the pages' scripts, styles and icons (a fixed folder; no paths, no other names)."""
    match = _STATIC_NAME.match(name)
    path = STATIC_FOLDER / name
    if match is None or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No static file {name}")
    return FileResponse(
        path,
        media_type=_MEDIA_TYPES[match.group(1)],
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )
