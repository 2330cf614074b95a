"""Every operation of the plugin's HTTP API against its own OpenAPI document, on a real stack.

Schemathesis reads the document the API server serves for the plugin and sends every operation
generated requests: the document's examples, boundary and invalid values of each parameter
(coverage), random data (fuzzing) and chains that follow the document's links (create a job, then
read, copy, update, rotate, run and delete it). Each answer goes through all of its default checks: no
server error, only documented statuses, content types, headers and bodies, valid data accepted,
invalid data refused, a deleted job gone (:data:`CHECKS_BY_OPERATION` names the few exceptions, and
why). Every job is throwaway: the run has a stack of its own, stopped afterwards. Three trigger
requests in four (and run-status requests) carry the URL and token of a real job (one taking
parameters, one with fixed parameters, one disabled), so the trigger gives its successes and
refusals, not only its 404.

The size of the run is a number of requests, ``HTTP_TRIGGER_API_EXAMPLES`` (default
:data:`DEFAULT_REQUESTS`, a few minutes on two cores): rounds with new seeds follow until the
requests sent reach it, and the test counts them, so it cannot pass on a run that sent little.
``HTTP_TRIGGER_API_SEED`` repeats the requests of an earlier run (the test prints its seed).
Nothing is written to the repository: Hypothesis' example database and Schemathesis' cache are off,
and Hypothesis keeps its other caches in a temporary folder.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import GenerationMode
from schemathesis.engine import StopReason, events

from devstack.stack import EmbeddedStack

from .conftest import stack_config, wait_for

SIZE_VARIABLE = "HTTP_TRIGGER_API_EXAMPLES"
SEED_VARIABLE = "HTTP_TRIGGER_API_SEED"
DEFAULT_REQUESTS = 1500
REQUESTS = int(os.environ.get(SIZE_VARIABLE, DEFAULT_REQUESTS))
# The stack's start, then about 10 requests a second on two busy cores: a larger run gets longer.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300 + REQUESTS * 0.3)]
# Requests one round sends per example asked of each operation (all phases, measured); rounds
# after the first send fewer (no coverage phase), and more rounds follow until the size is reached.
REQUESTS_PER_EXAMPLE = 40
MAX_ROUNDS = 20
REQUEST_TIMEOUT_SECONDS = 60
MAX_WAIT_SECONDS = 2  # how long a run-status request may hold its answer here
WRITES = ("update_job", "delete_job", "rotate_job_secret", "set_job_enabled")
# Where a default check cannot hold, and why; every other check holds everywhere.
CHECKS_BY_OPERATION: dict[str, dict[str, Any]] = {
    # A job body is valid when its cron expression parses and its action's parameters fit that
    # action's model: rules of the server, not of JSON Schema, so "valid data accepted" cannot hold.
    **dict.fromkeys(("create_job", "update_job"), {"positive_data_acceptance": {"enabled": False}}),
    # Validating answers every body that is JSON with 200, ``valid`` true or false: invalid data is
    # its subject, not a request it refuses.
    "validate_job": {
        "positive_data_acceptance": {"enabled": False},
        "negative_data_rejection": {"enabled": False},
    },
    # The same for a shared post-processing definition: its parameters fit its type's model.
    **dict.fromkeys(
        ("create_post_processing_definition", "update_post_processing_definition"),
        {"positive_data_acceptance": {"enabled": False}},
    ),
    # A copy's name is held to the job model's name rules (stripped, no NUL character), which the
    # document's minLength and maxLength only approach.
    "duplicate_job": {"positive_data_acceptance": {"enabled": False}},
    # A job created moments ago is "not loaded by Airflow yet": 503 with Retry-After, as documented.
    "set_job_enabled": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]}},
    # The same for Run now; and its body, like a trigger's, is the parameters of the job in the path:
    # which body is valid depends on that job's action, which the document cannot know.
    "run_job_now": {
        "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]},
        "positive_data_acceptance": {"enabled": False},
    },
    # The same for a trigger; and its body is the parameters of the job behind the URL, so which
    # body is valid depends on a job the document cannot know.
    "trigger_job": {
        "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]},
        "positive_data_acceptance": {"enabled": False},
    },
    # The health report's 503 is its answer, not a failure: a component's heartbeat is overdue.
    "get_health": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]}},
    # A deleted job's runs and audit stay readable by design (its history outlives it), unlike the job.
    **dict.fromkeys(
        ("list_job_runs", "get_job_run", "list_job_audit", "export_job_audit"),
        {"use_after_free": {"enabled": False}},
    ),
}


@dataclass
class TriggerTarget:
    """A real job whose URL and token some trigger requests carry."""

    job_id: int
    url_id: str
    token: str


@dataclass
class RunReport:
    """What the run sent and what the checks found, by operation."""

    requests: int = 0
    rounds: int = 0
    seconds: float = 0.0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        by_status: Counter[int] = Counter()
        for (_, status), count in self.statuses.items():
            by_status[status] += count
        return (
            f"{self.requests} requests in {self.rounds} rounds, {self.seconds:.0f} s; "
            f"statuses {dict(sorted(by_status.items()))}; "
            f"{len(self.failures)} failures, {len(self.errors)} errors"
        )

    def by_operation(self) -> str:
        operations = sorted({operation for operation, _ in self.statuses})
        return "\n".join(
            f"  {operation}: "
            + ", ".join(
                f"{status} x{count}"
                for (name, status), count in sorted(self.statuses.items())
                if name == operation
            )
            for operation in operations
        )

    def problems(self) -> str:
        lines = [
            f"{operation}: {check}: {title}\n    {sample}"
            for (operation, check, title), sample in self.failures.items()
        ]
        return "\n".join(lines + [f"error: {error}" for error in self.errors])


@pytest.fixture(scope="module", autouse=True)
def hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep Hypothesis' caches (constants, Unicode tables) out of the repository, in a temporary folder."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture(scope="module")
def schema_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    """Start a stack for this run alone: it creates and deletes hundreds of jobs."""
    config = stack_config(
        tmp_path_factory.mktemp("airflow-home-api-schema"),
        # One task at a time: the runs the requests start are not what is measured here.
        extra_env={"AIRFLOW__CORE__PARALLELISM": "1"},
    )
    with EmbeddedStack(config) as running:
        yield running


def _create_job(client: httpx.Client, name: str, *, enabled: bool, at_execution: bool) -> TriggerTarget:
    action: dict[str, Any] = {"type": "utility_no_action", "parameters_at_execution": at_execution}
    if not at_execution:
        action["parameters"] = {"note": "fixed"}
    body = {"name": name, "enabled": enabled, "action": action}
    response = client.post("/http-trigger/api/jobs", json=body)
    assert response.status_code == 201, response.text
    job = response.json()
    wait_for(
        lambda: client.get(f"/http-trigger/api/jobs/{job['id']}").json()["is_paused"] is not None,
        what=f"job {job['id']} to be loaded by Airflow",
    )
    return TriggerTarget(job_id=job["id"], url_id=job["trigger_url"].rsplit("/", 1)[1], token=job["token"])


def _load_schema(api_url: str, jwt: str, *, examples: int, seed: int, first_round: bool):
    """Load the plugin's OpenAPI document, configured for one round."""
    phases = ("examples", "coverage", "fuzzing", "stateful") if first_round else ("fuzzing", "stateful")
    config = schemathesis.Config.from_dict(
        {
            "base-url": f"{api_url}/http-trigger",
            "seed": seed,
            "continue-on-failure": True,
            "request-timeout": REQUEST_TIMEOUT_SECONDS,
            "cache": {"enabled": False},
            "auth": {"openapi": {"HTTPBearer": {"bearer": jwt}}},
            "generation": {"max-examples": examples, "database": "none"},
            "phases": {
                name: {"enabled": name in phases} for name in ("examples", "coverage", "fuzzing", "stateful")
            },
            "operations": [
                {"include-operation-id": operation, "checks": checks}
                for operation, checks in CHECKS_BY_OPERATION.items()
            ],
        }
    )
    return schemathesis.openapi.from_url(f"{api_url}/http-trigger/openapi.json", config=config)


def _install_hooks(schema: Any, targets: list[TriggerTarget]) -> None:
    """Send real URLs and tokens with three trigger or run-status requests in four; spare their jobs."""
    protected = {str(target.job_id) for target in targets}  # a path holds text: 1 and "1" are one job
    by_url_id = {target.url_id: target for target in targets}
    choices = itertools.cycle([None, *targets])

    @schema.hook("filter_case").apply_to(operation_id=list(WRITES))
    def _spare_trigger_targets(context: Any, case: Any) -> bool:
        return str(case.path_parameters.get("job_id")) not in protected

    def with_target(case: Any, target: TriggerTarget | None) -> Any:
        if target is not None:
            case.path_parameters = {**case.path_parameters, "url_id": target.url_id}
            case.headers = {**(case.headers or {}), "Authorization": f"CAAuth {target.token}"}
        return case

    @schema.hook("map_case").apply_to(operation_id="trigger_job")
    def _trigger_real_jobs(context: Any, case: Any) -> Any:
        return with_target(case, next(choices))

    @schema.hook("map_case").apply_to(operation_id="get_run_status")
    def _follow_real_jobs(context: Any, case: Any) -> Any:
        # A case that followed a link from a trigger's answer reads that job's run, with its token.
        linked = by_url_id.get((case.path_parameters or {}).get("url_id"))
        # Other cases: positive ones only. After a change of path Schemathesis checks the run id
        # again in its percent-encoded form, where a negative case's control characters no longer show.
        if linked is None and (case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE):
            return case
        wait = str((case.query or {}).get("wait", 0))  # the coverage phase sends query values as text
        if wait.isdigit() and int(wait) > MAX_WAIT_SECONDS:
            # A valid wait all the same; a real run may take minutes to end on a busy stack.
            case.query = {**case.query, "wait": MAX_WAIT_SECONDS}
        return with_target(case, linked or next(choices))


def _run_round(schema: Any, report: RunReport) -> None:
    """Run every phase of one round, adding what it sent and found to ``report``."""
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            report.requests += len(event.recorder.interactions)
            for case_id, interaction in event.recorder.interactions.items():
                if interaction.response is not None:
                    label = event.label or event.recorder.cases[case_id].value.operation.label
                    report.statuses[(label, interaction.response.status_code)] += 1
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        key = (failure.operation or event.label or "?", check.name, failure.title)
                        report.failures.setdefault(key, check.failure_info.code_sample)
        elif isinstance(event, events.NonFatalError):
            report.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            report.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            report.errors.extend(f"after the run: {failure.title}" for failure in event.failures)
            if event.stop_reason is not StopReason.COMPLETED:
                report.errors.append(f"the run stopped early: {event.stop_reason}")


def run_schemathesis(
    api_url: str, jwt: str, *, requests: int, targets: list[TriggerTarget], seed: int
) -> RunReport:
    """Run rounds of every phase until at least ``requests`` requests were sent."""
    report = RunReport()
    examples = max(1, math.ceil(requests / REQUESTS_PER_EXAMPLE))
    started = time.monotonic()
    while report.requests < requests and report.rounds < MAX_ROUNDS:
        seed_of_round, first_round = seed + report.rounds, report.rounds == 0
        schema = _load_schema(api_url, jwt, examples=examples, seed=seed_of_round, first_round=first_round)
        _install_hooks(schema, targets)
        _run_round(schema, report)
        report.rounds += 1
    report.seconds = time.monotonic() - started
    return report


def test_every_operation_keeps_to_the_openapi_document(schema_stack: EmbeddedStack):
    seed = int(os.environ.get(SEED_VARIABLE, time.time_ns() % 2**32))
    jwt = schema_stack.get_api_token()
    headers = {"Authorization": f"Bearer {jwt}"}
    with httpx.Client(base_url=schema_stack.api_url, headers=headers, timeout=30) as client:
        targets = [
            _create_job(client, "takes parameters", enabled=True, at_execution=True),
            _create_job(client, "fixed parameters", enabled=True, at_execution=False),
            _create_job(client, "disabled", enabled=False, at_execution=True),
        ]

    report = run_schemathesis(schema_stack.api_url, jwt, requests=REQUESTS, targets=targets, seed=seed)

    print(f"\n{SEED_VARIABLE}={seed}: {report.summary()}\n{report.by_operation()}")
    assert not report.failures and not report.errors, f"seed {seed}: {report.summary()}\n{report.problems()}"
    assert report.requests >= REQUESTS, report.summary()
