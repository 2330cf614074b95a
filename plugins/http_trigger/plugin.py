"""Register http-trigger with Airflow: the FastAPI app mounted in the API server."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from http_trigger.api.app import URL_PREFIX, create_app


class HttpTriggerPlugin(AirflowPlugin):
    """Airflow plugin entry point, registered through the ``airflow.plugins`` entry point."""

    name = "http_trigger"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "http-trigger"}]
