"""Register http-trigger with Airflow: the FastAPI app mounted in the API server, its pages in the nav,
and the "HTTP Trigger job" extra link on every task of a job's DAG."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from http_trigger import settings
from http_trigger.api.app import create_app
from http_trigger.job_links import JobPageLink
from http_trigger.urls import NAV_URL_ROUTE, URL_PREFIX


class HttpTriggerPlugin(AirflowPlugin):
    """Airflow plugin entry point, registered through the ``airflow.plugins`` entry point."""

    name = "http_trigger"
    operator_extra_links = [JobPageLink()]
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "http-trigger"}]
    # Airflow's UI shows the pages in a same-origin frame at <base>/plugin/http-trigger; the paths
    # carry [api] base_url's path so they work behind a reverse proxy's prefix.
    external_views = [
        {
            "name": "HTTP Trigger",
            "href": f"{settings.airflow_base_path()}{URL_PREFIX}/ui/jobs",
            "url_route": NAV_URL_ROUTE,
            "destination": "nav",
            "nav_top_level": True,
            "icon": f"{settings.airflow_base_path()}{URL_PREFIX}/ui/static/icon.svg",
            "icon_dark_mode": f"{settings.airflow_base_path()}{URL_PREFIX}/ui/static/icon-dark.svg",
        }
    ]
