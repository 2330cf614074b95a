"""The plugin's paths, and the trigger URL: built for a job, recognised in any URL, kept out of logs.

A trigger URL carries the job's URL id, half of its credential. So wherever one could be written
down — an access log line, a webhook step's task log — it is shown as the route template
:data:`TRIGGER_ROUTE` instead, and a webhook step aimed at one knows it is chaining into a job.
This module imports no web framework: task processes use it too.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from http_trigger import settings

URL_PREFIX = "/http-trigger"
"""Where Airflow's API server mounts the plugin's app."""

NAV_URL_ROUTE = "http-trigger"
"""The pages' route in Airflow's UI: Airflow shows them in its frame at ``<base>/plugin/http-trigger/...``."""

TRIGGER_PATH = f"{URL_PREFIX}/trigger/"
TRIGGER_ROUTE = f"{TRIGGER_PATH}{{url_id}}"
"""The trigger route as logs show it, whatever the URL id."""

# The URL id and anything after it up to the query, the fragment or the end of a log line's URL.
_TRIGGER_PATH_TAIL = re.compile(re.escape(TRIGGER_PATH) + r"[^?#\s\"'<>]*")


def trigger_url(url_id: str) -> str:
    """Return the full URL callers POST to for the job with ``url_id``."""
    return f"{settings.base_url()}{TRIGGER_PATH}{url_id}"


def run_status_url(url_id: str, run_id: str) -> str:
    """Return where a caller holding the job's token follows the run ``run_id`` it started."""
    return f"{trigger_url(url_id)}/runs/{quote(run_id, safe='')}"


def _dag_route(dag_id: str) -> str:
    return f"/dags/{quote(dag_id, safe='')}"


def _run_route(dag_id: str, run_id: str) -> str:
    return f"{_dag_route(dag_id)}/runs/{quote(run_id, safe='')}"


def plugin_path() -> str:
    """Return the path of the plugin's app as browsers see it, e.g. ``/airflow/http-trigger``."""
    return f"{settings.airflow_base_path()}{URL_PREFIX}"


def page_in_airflow_path(ui_path: str) -> str:
    """Return where Airflow's UI shows the page ``ui_path`` (e.g. ``/jobs/3``) in its frame, nav and all.

    Airflow serves a plugin's pages framed at ``<base>/plugin/<url_route>`` followed by the framed
    page's own path, which carries the base path again.
    """
    return f"{settings.airflow_base_path()}/plugin/{NAV_URL_ROUTE}{plugin_path()}/ui{ui_path}"


def job_page_path(job_id: int) -> str:
    """Return the path of a job's page in Airflow's UI (the plugin's detail page in Airflow's frame)."""
    return page_in_airflow_path(f"/jobs/{job_id}")


def dag_path(dag_id: str) -> str:
    """Return the path of a DAG in Airflow's UI."""
    return settings.airflow_base_path() + _dag_route(dag_id)


def task_instance_path(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """Return the path of one task of a run in Airflow's UI, which opens on the task's log."""
    path = f"{settings.airflow_base_path()}{_run_route(dag_id, run_id)}/tasks/{quote(task_id, safe='')}"
    return f"{path}/mapped/{map_index}" if map_index >= 0 else path


def run_path(dag_id: str, run_id: str) -> str:
    """Return the path of a run in Airflow's grid view, for pages served by the same API server."""
    return settings.airflow_base_path() + _run_route(dag_id, run_id)


def run_url(dag_id: str, run_id: str) -> str:
    """Return the full URL of a run in Airflow's grid view, for a notification read elsewhere."""
    return settings.base_url() + _run_route(dag_id, run_id)


def is_trigger_url(url: str) -> bool:
    """Tell whether ``url`` points at a job's trigger (of this or another Airflow, behind any prefix)."""
    return TRIGGER_PATH in urlsplit(url).path


def trigger_url_id(url: str) -> str | None:
    """Return the URL id a trigger URL carries, or None for any other URL."""
    url_id = urlsplit(url).path.partition(TRIGGER_PATH)[2].split("/")[0]
    return url_id or None


def redact_trigger_paths(text: str) -> str:
    """Replace every trigger path in ``text`` (a path, a URL, a log line) by :data:`TRIGGER_ROUTE`."""
    return _TRIGGER_PATH_TAIL.sub(TRIGGER_ROUTE, text)
