"""The package's exceptions: one base, specific subclasses, converted to HTTP or Airflow errors at the edge."""

from __future__ import annotations

from collections.abc import Callable

Problems = tuple[tuple[str, str], ...]
"""Problems of a body, each as ``(field.path, reason)``."""


class HttpTriggerError(Exception):
    """Base of every error this package raises on purpose."""

    job_id: int | None = None
    """The job the error is about, when there is one (the trigger-call log records it)."""


class SettingError(HttpTriggerError):
    """An ``[http_trigger]`` option holds a value the plugin cannot use; the message names both."""


class JobSpecError(HttpTriggerError):
    """A job spec is invalid: its file, and each problem as a field path and a reason.

    The message reads ``file: field: reason; field: reason``; ``problems`` keeps each pair apart,
    so a checker can print one line per problem and an API can return them as data.
    """

    def __init__(self, source: str, *problems: tuple[str, str]) -> None:
        super().__init__(f"{source}: " + "; ".join(f"{field}: {reason}" for field, reason in problems))
        self.source = source
        self.problems = problems


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


class DefinitionNotFoundError(HttpTriggerError):
    """No shared post-processing definition has the given name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Post-processing definition {name!r} does not exist")
        self.name = name


class DefinitionConflictError(HttpTriggerError):
    """A definition write lost an optimistic version check, or would create a name that exists."""


class DefinitionInUseError(DefinitionConflictError):
    """Jobs reference the definition, so deleting it would break them; ``jobs`` holds their (id, name)."""

    def __init__(self, name: str, jobs: list[tuple[int, str]]) -> None:
        listed = ", ".join(f"{job_id} ({job_name})" for job_id, job_name in jobs)
        super().__init__(
            f"Post-processing definition {name!r} is used by jobs {listed}; remove it from them first"
        )
        self.name = name
        self.jobs = jobs


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


class JobBrokenError(HttpTriggerError):
    """The job's spec file cannot be loaded, so the job cannot run until someone fixes the file.

    Unlike :class:`JobNotReadyError`, waiting does not help: callers get a 409 naming the problem.
    """

    def __init__(self, job_id: int, spec_error: JobSpecError) -> None:
        super().__init__(f"Job {job_id} cannot run: its spec is invalid ({spec_error}); fix the file")
        self.job_id = job_id
        self.spec_error = spec_error


class SignatureError(HttpTriggerError):
    """A job that requires signed calls got one unsigned, badly signed, stale, or replayed."""

    def __init__(self, message: str, *, job_id: int) -> None:
        super().__init__(message)
        self.job_id = job_id


class RateLimitedError(HttpTriggerError):
    """Too many calls in a window: the job's rate limit, or an address's failed tokens; retry later."""

    def __init__(self, message: str, *, retry_after: int, job_id: int | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.job_id = job_id


class RunNotFoundError(HttpTriggerError):
    """The job has no run with the given id."""

    def __init__(self, job_id: int, run_id: str) -> None:
        super().__init__(f"Job {job_id} has no run {run_id}")
        self.job_id = job_id
        self.run_id = run_id


class UnknownTriggerError(HttpTriggerError):
    """No live job has this URL id and token; deliberately the same answer for every cause."""

    def __init__(self) -> None:
        super().__init__("No job matches this URL and access token")


class InvalidIdempotencyKeyError(HttpTriggerError):
    """An ``Idempotency-Key`` header that is empty, longer than 128 characters or not printable ASCII."""


class IdempotencyKeyReusedError(HttpTriggerError):
    """An ``Idempotency-Key`` already used for this job with other parameters."""

    def __init__(self, message: str, *, job_id: int) -> None:
        super().__init__(message)
        self.job_id = job_id


class ParametersNotAcceptedError(HttpTriggerError):
    """The parameters cannot be read (not a JSON object), or were sent to a job whose parameters are fixed."""

    def __init__(self, message: str, *, job_id: int | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id


class InvalidParametersError(HttpTriggerError):
    """Parameters given at execution fail the action's model; the message names each field.

    ``problems`` keeps each ``(field.path, reason)`` apart, so a form can show each next to its field;
    ``said_in`` says them in another language, for a page that asks in its own.
    """

    def __init__(
        self,
        message: str,
        *,
        job_id: int | None = None,
        problems: Problems = (),
        said_in: Callable[[str], Problems] | None = None,
    ) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.problems = problems
        self._said_in = said_in

    def problems_in(self, language: str) -> Problems:
        """Return the problems in ``language`` where they can be said in it, else as they are."""
        return self._said_in(language) if self._said_in is not None else self.problems


class ParametersRequiredError(InvalidParametersError):
    """The job takes its parameters at execution, and its starter has none to give (Run now).

    The request is fine; the job is what cannot run so, as a disabled one cannot: a conflict.
    """


class MaskedSecretError(JobSpecError):
    """A job body keeps a masked secret that stands for no value of the job: the value itself must be given."""


class UnknownActionTypeError(HttpTriggerError):
    """An action type that is not in the catalogue; the message lists the known ones."""
