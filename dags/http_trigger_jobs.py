"""Airflow DAG factory: one DAG per http-trigger job spec in ``[http_trigger] jobs_folder``.

All logic lives in the ``http_trigger`` package; this file only registers what it builds.
"""

from __future__ import annotations

from http_trigger.dag_builder import build_dags

globals().update(build_dags())
