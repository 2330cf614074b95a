"""One job's fault stays with that job, on the real stack: every kind of bad spec file beside good jobs.

Two good jobs are created and triggered; then one file of each bad kind is written into the jobs
folder at once, each over a job created through the API (so it has a trigger URL and token), plus a
file that names no job. After the next parse of the DAG factory file, observed as a job created
afterwards becoming triggerable and the good jobs' DAGs re-serialised, every kind is checked on
every surface: the good jobs still start runs; each broken job is listed and shown with its file,
field and reason, its trigger answers 409 (not the 503 of "not loaded yet"), ``http-trigger jobs
list`` shows it, the health says ``jobs: degraded``, and the factory logged the same reason.

The last kind, a NUL character, is the case that passed the job model and the DAG build and failed
later, when Airflow wrote the factory file's DAGs to PostgreSQL: it kept every job from loading and
made the DAG processor exit at each start, until the model refused it. No spec that passes the
model fails the build itself: every value ``dag_builder.build_dag`` hands to ``DAG()`` and to the
operators is one the model bounds (id, name, description, cron schedule, tags, group, connection,
region, validated parameters), and ``dag.validate()`` re-checks only the cron expression, which
the model checks with the same croniter call. A build failure can still come from configuration
or a bug; the unit tests inject one and see that job broken, with its 409, and no other.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devstack.stack import EmbeddedStack
from http_trigger.actions import ACTIONS

from .conftest import stack_config, wait_for

pytestmark = pytest.mark.integration

GOOD_JOBS = 2
BILLION_LAUGHS = b"lol: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + b"".join(
    f"l{level}: &{chr(98 + level)} [{', '.join([f'*{chr(97 + level)}'] * 9)}]\n".encode()
    for level in range(9)
)
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


def job_body(name: str) -> dict[str, Any]:
    return {"name": name, "group": "isolation", "action": {"type": "utility_no_action"}}


def spec_text(job_id: int, **overrides: Any) -> bytes:
    return yaml.safe_dump({"id": job_id, **job_body(f"Job {job_id}"), **overrides}).encode()


@dataclass(frozen=True)
class BadKind:
    """A kind of bad file: its content for a job id, and the problem reported as (field, reason)."""

    content: Any  # (job id) -> bytes
    field: str
    reason: str


BAD_KINDS = {
    "malformed YAML": BadKind(
        lambda job_id: b"name: [unclosed\n",
        "(file)",
        "not valid YAML: while parsing a flow sequence (line 1, column 7): "
        "did not find expected ',' or ']' (line 2, column 1)",
    ),
    "failing validation": BadKind(
        lambda job_id: spec_text(job_id, name=""), "name", "String should have at least 1 character (got '')"
    ),
    "unknown action type": BadKind(
        lambda job_id: spec_text(job_id, action={"type": "ec2_explode"}),
        "action",
        ACTIONS.unknown_message("ec2_explode"),
    ),
    "a YAML list, not a spec": BadKind(
        lambda job_id: b"- name: one\n- name: two\n", "(file)", "a job spec must be a mapping, got list"
    ),
    "random text, not a spec": BadKind(
        lambda job_id: b"remember to buy milk\n", "(file)", "a job spec must be a mapping, got str"
    ),
    "binary, not a spec": BadKind(lambda job_id: PNG_HEADER, "(file)", "not UTF-8 text (byte 0 is 0x89)"),
    "huge file": BadKind(
        lambda job_id: spec_text(job_id, description="x" * (1 << 20)),
        "(file)",
        "larger than 128 KiB, the most a job spec may be",
    ),
    "billion laughs": BadKind(
        lambda job_id: BILLION_LAUGHS,
        "(file)",
        "anchors and aliases (&name, *name) are not allowed in job specs (line 1, column 6)",
    ),
    "group too long for Airflow's tag": BadKind(
        lambda job_id: spec_text(job_id, group="g" * 95),
        "group",
        "at most 94 characters, not 95: the job's DAG is tagged 'group:<group>', "
        "and Airflow allows tags of at most 100 characters",
    ),
    "NUL character, which Airflow cannot store": BadKind(
        lambda job_id: spec_text(
            job_id, action={"type": "utility_no_action", "parameters": {"note": "before\0after"}}
        ),
        "action.parameters",
        "note: the NUL character (\\x00) is not allowed: Airflow's metadata database cannot store it",
    ),
}
NOT_A_JOB = (
    "notes.yaml", "(file)", "not named as a job spec: spec files are named job_<id>.yaml, e.g. job_7.yaml"
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    config = stack_config(tmp_path_factory.mktemp("isolation-home"))
    with EmbeddedStack(config) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: EmbeddedStack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {stack.get_api_token()}"}
    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=60) as client:
        yield client


def create(api: httpx.Client, name: str) -> dict[str, Any]:
    response = api.post("/http-trigger/api/jobs", json=job_body(name))
    assert response.status_code == 201, response.text
    return response.json()


def loaded(api: httpx.Client, job: dict[str, Any]) -> dict[str, Any] | None:
    """Return the job once Airflow has loaded it, with the URL and token its create issued (reads mask)."""
    current = api.get(f"/http-trigger/api/jobs/{job['id']}").json()
    if current.get("is_paused") is None:
        return None
    return {**current, "trigger_url": job["trigger_url"], "token": job["token"]}


def trigger(job: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"CAAuth {job['token']}", "Content-Length": "0"}
    return httpx.post(job["trigger_url"], headers=headers, timeout=60)


def parsed_at(api: httpx.Client, job: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(api.get(f"/api/v2/dags/{job['dag_id']}").json()["last_parsed_time"])


def assert_starts_a_run(api: httpx.Client, job: dict[str, Any]) -> None:
    response = trigger(job)
    assert response.status_code == 200, response.text
    run = api.get(f"/api/v2/dags/{job['dag_id']}/dagRuns/{response.json()['dag_run_id']}")
    assert run.status_code == 200, run.text


@dataclass(frozen=True)
class Scene:
    """The stack after the bad files were written and parsed, and what each surface said once."""

    good: list[dict[str, Any]]
    broken: dict[str, dict[str, Any]]  # kind -> the job its file broke
    cli_listing: subprocess.CompletedProcess[str]
    health: httpx.Response
    factory_warnings: list[str]


def factory_warnings(stack: EmbeddedStack) -> list[str]:
    """Return the warnings the DAG factory logged while the DAG processor parsed it."""
    events = []
    for log in (stack.config.logs_folder / "dag_processor").glob("**/http_trigger_jobs.py.log"):
        for line in log.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("logger") == "http_trigger.dag_builder":
                events.append(record["event"])
    return events


@pytest.fixture(scope="module")
def scene(stack: EmbeddedStack, api: httpx.Client) -> Scene:
    good = [create(api, f"Good {number}") for number in range(1, GOOD_JOBS + 1)]
    good = [wait_for(lambda job=job: loaded(api, job), what=f"job {job['id']} to be loaded") for job in good]
    for job in good:
        assert_starts_a_run(api, job)

    folder = stack.config.jobs_folder
    broken = {}
    for kind, bad in BAD_KINDS.items():
        job = create(api, f"Soon broken: {kind}")
        (folder / f"job_{job['id']}.yaml").write_bytes(bad.content(job["id"]))
        broken[kind] = job
    (folder / NOT_A_JOB[0]).write_text("remember: the milk\n")
    written_at = time.time()

    # A job created now is loaded by a parse that read the folder after every bad file was written.
    after = create(api, "Created after the bad files")
    try:
        after = wait_for(lambda: loaded(api, after), what="the job created after the bad files to be loaded")
    except pytest.fail.Exception as error:
        log = (stack.config.logs_folder / "dag-processor.log").read_text()
        restarts = stack.restarts()["dag-processor"]
        pytest.fail(f"{error}; DAG processor restarts: {restarts}; its log ends:\n{log[-6000:]}")
    good.append(after)
    for job in good[:GOOD_JOBS]:
        assert parsed_at(api, job).timestamp() > written_at, f"{job['dag_id']} was not parsed again"

    listing = subprocess.run(
        [str(Path(sys.executable).parent / "http-trigger"), "jobs", "list", "-o", "json"],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    health = wait_for(
        lambda: (answer := httpx.get(f"{stack.api_url}/http-trigger/health", timeout=30)).status_code == 200
        and answer,
        timeout=60,
        what="the health to answer 200",
    )
    return Scene(
        good=good, broken=broken, cli_listing=listing, health=health, factory_warnings=factory_warnings(stack)
    )


def test_the_factory_file_has_no_import_error_and_the_good_jobs_still_start_runs(api, scene):
    errors = api.get("/api/v2/importErrors").json()

    assert errors["total_entries"] == 0, errors
    for job in scene.good:
        assert_starts_a_run(api, job)


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_each_broken_job_is_in_sight_everywhere_and_its_trigger_answers_409(api, scene, kind):
    bad, job = BAD_KINDS[kind], scene.broken[kind]
    file = f"job_{job['id']}.yaml"
    expected = {
        "id": job["id"],
        "dag_id": job["dag_id"],
        "spec_error": {
            "file": file,
            "message": f"{file}: {bad.field}: {bad.reason}",
            "problems": [{"field": bad.field, "reason": bad.reason}],
        },
    }

    listed = api.get("/http-trigger/api/jobs").json()
    shown = api.get(f"/http-trigger/api/jobs/{job['id']}")
    answer = trigger(job)

    assert expected in listed["broken_jobs"]
    assert job["id"] not in [listed_job["id"] for listed_job in listed["jobs"]]
    assert (shown.status_code, shown.json()) == (200, expected)
    problem = expected["spec_error"]["message"]
    message = f"Job {job['id']} cannot run: its spec is invalid ({problem}); fix the file"
    assert (answer.status_code, answer.json()) == (409, {"message": message})
    assert "Retry-After" not in answer.headers
    assert {"id": job["id"], "spec_error": expected["spec_error"]} in json.loads(scene.cli_listing.stdout)
    assert f"error: {file}: {bad.field}: {bad.reason}" in scene.cli_listing.stderr
    assert file in scene.health.json()["jobs"]["broken_spec_files"]
    assert f"Job spec not loaded: {file}: {bad.field}: {bad.reason}" in scene.factory_warnings


def test_a_file_that_names_no_job_is_a_problem_of_that_file(api, scene):
    name, field, reason = NOT_A_JOB

    listed = api.get("/http-trigger/api/jobs").json()

    assert f"{name}: {field}: {reason}" in listed["spec_errors"]
    assert f"error: {name}: {field}: {reason}" in scene.cli_listing.stderr
    assert name in scene.health.json()["jobs"]["broken_spec_files"]


def test_the_health_says_jobs_degraded_and_the_cli_lists_the_good_jobs_as_usual(scene):
    body = scene.health.json()

    assert (scene.health.status_code, body["status"], body["jobs"]["status"]) == (200, "degraded", "degraded")
    assert len(body["jobs"]["broken_spec_files"]) == len(BAD_KINDS) + 1
    assert scene.cli_listing.returncode == 0, scene.cli_listing.stderr
    listed = {record["id"]: record for record in json.loads(scene.cli_listing.stdout)}
    for job in scene.good:
        assert (listed[job["id"]]["name"], listed[job["id"]]["group"]) == (job["name"], "isolation")
