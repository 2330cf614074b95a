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


class JobDeletedError(JobConflictError):
    """The job was deleted; its id stays retired, so nothing may be written under it again."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"Job {job_id} was deleted and its id cannot be used again")
        self.job_id = job_id


class JobStorageError(HttpTriggerError):
    """The jobs folder refused a write (full, read-only, gone); the message names the file and the reason."""


class JobNotReadyError(HttpTriggerError):
    """Airflow has not parsed the job's DAG yet; the same request will work in a few seconds."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"Job {job_id} is not loaded by Airflow yet; try again in a few seconds")
        self.job_id = job_id


class JobPausedError(HttpTriggerError):
    """The job is disabled (its DAG is paused), so no run may be queued."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"Job {job_id} is disabled; enable it to run it")
        self.job_id = job_id


class ParametersNotAcceptedError(HttpTriggerError):
    """Parameters were sent to a job whose parameters are fixed in its spec."""


class InvalidParametersError(HttpTriggerError):
    """Parameters given at execution fail the action's model; the message names each field."""
