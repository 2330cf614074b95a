"""http-trigger: start AWS operation jobs on Apache Airflow 3 with one authenticated HTTP POST."""

from __future__ import annotations

__version__ = "0.1.0"
