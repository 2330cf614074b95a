"""The package's exceptions: one base, specific subclasses, converted to HTTP or Airflow errors at the edge."""

from __future__ import annotations


class HttpTriggerError(Exception):
    """Base of every error this package raises on purpose."""


class JobSpecError(HttpTriggerError):
    """A job spec is invalid; the message names the file, the field path and the reason."""


class JobNotFoundError(HttpTriggerError):
    """No job has the given id."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"Job {job_id} does not exist")
        self.job_id = job_id


class JobConflictError(HttpTriggerError):
    """A write lost an optimistic version check or would reuse an existing id."""
