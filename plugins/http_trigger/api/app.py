"""Build the plugin's FastAPI application, which Airflow's API server mounts at ``/http-trigger``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from http_trigger import __version__, settings
from http_trigger.api.access_log import TriggerPathRedactionMiddleware
from http_trigger.api.actions import actions_router
from http_trigger.api.audit import audit_router
from http_trigger.api.bodies import BoundedBodyMiddleware
from http_trigger.api.errors import install_error_handlers
from http_trigger.api.health import health_router
from http_trigger.api.jobs import jobs_router
from http_trigger.api.post_processing import post_processing_router
from http_trigger.api.runs import runs_router
from http_trigger.api.startup_heap import frozen_startup_heap
from http_trigger.api.trigger import record_kept_calls, trigger_router
from http_trigger.ui.pages import ui_router


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # A mounted sub-app does not share the core app's state; Airflow's own dependencies read the
    # auth manager from here. The API server has already initialised its auth manager, and
    # create_auth_manager returns that same instance.
    from airflow.api_fastapi.app import create_auth_manager

    app.state.auth_manager = create_auth_manager()
    async with frozen_startup_heap(enabled=settings.freeze_startup_heap()):
        yield
    record_kept_calls()


def create_app() -> FastAPI:
    """Return the app: the trigger endpoint, the JSON API, the health check and the pages.

    Requests to its trigger route reach the API server's access logs as the route template only.
    """
    app = FastAPI(
        title="http-trigger",
        version=__version__,
        description="Start Airflow operation jobs with one authenticated HTTP POST.",
        lifespan=_lifespan,
        # Operation ids are the route functions' names (get_job), as in Airflow's own API; the
        # OpenAPI links between operations name them.
        generate_unique_id_function=lambda route: route.name,
    )
    app.include_router(trigger_router)
    app.include_router(health_router)
    app.include_router(jobs_router)
    app.include_router(post_processing_router)
    app.include_router(actions_router)
    app.include_router(runs_router)
    app.include_router(audit_router)
    app.include_router(ui_router)
    install_error_handlers(app)
    app.add_middleware(BoundedBodyMiddleware)
    # Outermost: whatever answers a trigger request, its path is redacted before anything logs it.
    app.add_middleware(TriggerPathRedactionMiddleware)
    return app
