"""The job list as the pages read it (filter, sort, pages), and checking a job body field by field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from airflow import settings
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState
from airflow.utils.types import DagRunType
from fastapi.testclient import TestClient
from http_trigger import dag_builder, jobs_service
from http_trigger.jobs.field_errors import FieldError, job_body_errors
from http_trigger.jobs.model import JobBody
from http_trigger.jobs.spec_names import spec_path
from http_trigger.secrets import trigger_credentials
from sqlalchemy import event

from ..api_support import bearer
from ..jobs_support import ACTOR

EC2 = {
    "type": "ec2_start_instances",
    "aws_conn_id": "aws_demo",
    "parameters": {"tag_key": "Env", "tag_value": "test"},
}


def make_job(name: str, group: str = "default", **extra) -> jobs_service.JobDetails:
    with create_session() as session:
        body = JobBody.model_validate({"name": name, "group": group, "action": EC2, **extra})
        return jobs_service.create_job(session=session, actor=ACTOR, body=body)


def add_runs(dag_id: str, count: int, *, since: datetime) -> None:
    """Give a job ``count`` finished runs, an hour apart from ``since``, as the scheduler would have."""
    with create_session() as session:
        session.add_all(
            DagRun(
                dag_id=dag_id,
                run_id=f"manual__{number}",
                run_type=DagRunType.MANUAL,
                state=DagRunState.SUCCESS,
                run_after=since + timedelta(hours=number),
            )
            for number in range(count)
        )


def statements_of_a_page() -> list[tuple[str, int]]:
    """Return the statements one page of three jobs runs, each with its row count.

    Sorted by name: sorting by last run reads one row per job more (when each job last ran), by design.
    """
    statements: list[tuple[str, int]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement.split(" WHERE ")[0], cursor.rowcount))

    event.listen(settings.engine, "after_cursor_execute", record)
    try:
        with create_session() as session:
            page = jobs_service.find_jobs(session=session, order_by="name", limit=3)
    finally:
        event.remove(settings.engine, "after_cursor_execute", record)
    assert len(page.jobs) == 3
    return statements


@pytest.fixture
def client(client: TestClient) -> TestClient:
    """The app of ``conftest.py``, called by the admin, logged in."""
    client.headers.update(bearer("admin"))
    return client


class TestFindJobs:
    def test_a_page_of_a_thousand_jobs_reads_the_secrets_of_that_page_only(
        self, airflow_db, jobs_folder, monkeypatch
    ):
        for number in range(1, 1001):
            make_job(f"job {number:04d}", group=f"team-{number % 3}")
        decrypted = []
        real = trigger_credentials._secret_of
        monkeypatch.setattr(trigger_credentials, "_secret_of", lambda row: decrypted.append(1) or real(row))

        with create_session() as session:
            page = jobs_service.find_jobs(
                session=session, order_by="name", descending=True, limit=25, offset=50
            )

        assert page.total_entries == 1000
        assert [details.job.name for details in page.jobs][:2] == ["job 0950", "job 0949"]
        assert len(page.jobs) == 25 and len(decrypted) == 25
        assert all(details.secret is not None for details in page.jobs)
        assert page.groups == ["team-0", "team-1", "team-2"]

    def test_filters_by_group_and_by_text_anywhere(self, airflow_db, jobs_folder):
        make_job("Start test EC2", group="test")
        make_job("Stop test EC2", group="test", tags=["nightly"])
        make_job("Start prod EC2", group="prod")

        with create_session() as session:
            by_group = jobs_service.find_jobs(session=session, group="test")
            by_text = jobs_service.find_jobs(session=session, search="  NIGHTLY ")
            both = jobs_service.find_jobs(session=session, group="test", search="stop")

        assert [d.job.name for d in by_group.jobs] == ["Start test EC2", "Stop test EC2"]
        assert [d.job.name for d in by_text.jobs] == ["Stop test EC2"]
        assert [d.job.name for d in both.jobs] == ["Stop test EC2"]
        assert both.groups == ["prod", "test"]

    def test_jobs_without_a_value_sort_last_both_ways(self, airflow_db, jobs_folder):
        make_job("hourly", schedule="0 * * * *")
        make_job("on demand")
        make_job("daily", schedule="0 9 * * *")

        with create_session() as session:
            ascending = jobs_service.find_jobs(session=session, order_by="schedule")
            descending = jobs_service.find_jobs(session=session, order_by="schedule", descending=True)

        assert [d.job.name for d in ascending.jobs] == ["hourly", "daily", "on demand"]
        assert [d.job.name for d in descending.jobs] == ["daily", "hourly", "on demand"]

    def test_sorting_by_last_run_puts_the_newest_first_and_the_never_run_last(self, airflow_db, jobs_folder):
        recent, older = make_job("recent"), make_job("older")
        make_job("never run")
        add_runs(recent.job.dag_id, 3, since=datetime(2026, 3, 1, tzinfo=timezone.utc))
        add_runs(older.job.dag_id, 3, since=datetime(2026, 1, 1, tzinfo=timezone.utc))

        with create_session() as session:
            newest_first = jobs_service.find_jobs(session=session, order_by="last_run", descending=True)
            oldest_first = jobs_service.find_jobs(session=session, order_by="last_run")

        assert [d.job.name for d in newest_first.jobs] == ["recent", "older", "never run"]
        assert [d.job.name for d in oldest_first.jobs] == ["older", "recent", "never run"]
        assert [d.last_run.run_id if d.last_run else None for d in newest_first.jobs] == [
            "manual__2", "manual__2", None
        ]

    def test_a_page_reads_the_same_statements_and_rows_with_many_jobs_and_runs_as_with_few(
        self, airflow_db, jobs_folder
    ):
        for number in range(3):
            add_runs(make_job(f"first {number}").job.dag_id, 1, since=datetime(2026, 1, 1, tzinfo=timezone.utc))
        few = statements_of_a_page()
        for number in range(30):
            add_runs(make_job(f"more {number}").job.dag_id, 20, since=datetime(2026, 1, 1, tzinfo=timezone.utc))

        assert statements_of_a_page() == few

    def test_readable_hides_the_jobs_the_user_may_not_see(self, airflow_db, jobs_folder):
        visible = make_job("visible")
        make_job("hidden")

        with create_session() as session:
            page = jobs_service.find_jobs(session=session, readable=lambda ids: {visible.job.dag_id} & ids)

        assert [d.job.name for d in page.jobs] == ["visible"]
        assert page.total_entries == 1


class TestListRoute:
    def test_pages_filters_and_sorts(self, client):
        for name, group in [("b", "g1"), ("a", "g2"), ("c", "g1")]:
            make_job(name, group=group)

        query = {"group": "g1", "order_by": "-name", "limit": 1, "offset": 1}
        page = client.get("/api/jobs", params=query).json()

        assert page["total_entries"] == 2
        assert [job["name"] for job in page["jobs"]] == ["b"]
        assert page["groups"] == ["g1", "g2"]
        assert page["jobs"][0]["last_run"] is None and page["jobs"][0]["next_run_after"] is None

    def test_without_parameters_it_lists_every_job(self, client):
        for name in ("x", "y"):
            make_job(name)

        listed = client.get("/api/jobs").json()

        assert [job["name"] for job in listed["jobs"]] == ["x", "y"]
        assert listed["total_entries"] == 2

    def test_an_unknown_sort_key_is_named(self, client):
        response = client.get("/api/jobs", params={"order_by": "-colour"})

        assert response.status_code == 422
        assert response.json()["message"] == (
            "The request is invalid: query.order_by: String should match pattern "
            "'^-?(id|name|group|action|aws_conn_id|enabled|schedule|last_run|next_run)$'"
        )

    def test_a_changed_spec_file_is_read_again(self, client, jobs_folder):
        details = make_job("before")
        assert client.get("/api/jobs").json()["jobs"][0]["name"] == "before"
        path = spec_path(jobs_folder, details.job.id)
        path.write_text(path.read_text().replace("name: before", "name: after"))

        assert client.get("/api/jobs").json()["jobs"][0]["name"] == "after"


WRONG_EVERYWHERE = {
    "name": "",
    "schedule": "every minute",
    "action": {
        "type": "ec2_start_instances",
        "region": "not a region!!",
        "parameters": {"instance_ids": ["i-0123456789abcdef0", "i-bad"]},
    },
    "post_processing": {"on_failure": [{"type": "webhook", "parameters": {"url": "ftp://x"}}]},
}
# Every problem of WRONG_EVERYWHERE at its field, as an operator reads it; the instance id is found
# although the region of the same action is wrong too.
WRONG_EVERYWHERE_PROBLEMS = [
    {"loc": ["body", "name"], "msg": "Enter a name", "type": "string_too_short"},
    {
        "loc": ["body", "action", "region"],
        "msg": "Enter a region such as ap-northeast-1",
        "type": "string_pattern_mismatch",
    },
    {
        "loc": ["body", "post_processing", "on_failure", 0, "parameters", "url"],
        "msg": "'ftp://x' is not an http or https URL",
        "type": "value_error",
    },
    {
        "loc": ["body", "schedule"],
        "msg": "Enter a cron expression such as 0 9 * * 1-5: 'every minute' is not one",
        "type": "value_error",
    },
    {
        "loc": ["body", "action", "parameters", "instance_ids", 1],
        "msg": "Enter instance ids such as i-0123456789abcdef0 (entry 2)",
        "type": "string_pattern_mismatch",
    },
]


class TestValidate:
    def test_every_problem_is_answered_at_its_field_in_an_operators_words(self, client, jobs_folder):
        response = client.post("/api/jobs/validate", json=WRONG_EVERYWHERE)

        assert (response.status_code, response.json()) == (
            200,
            {"valid": False, "problems": WRONG_EVERYWHERE_PROBLEMS},
        )
        assert list(jobs_folder.iterdir()) == []

    @pytest.mark.parametrize(
        ("path", "problems"), [("/api/jobs/validate", "problems"), ("/api/jobs", "detail")]
    )
    def test_every_problem_is_said_in_the_language_the_page_asks_for(
        self, client, jobs_folder, path, problems
    ):
        response = client.post(path, json=WRONG_EVERYWHERE, headers={"Accept-Language": "ja"})

        assert [(problem["loc"], problem["msg"]) for problem in response.json()[problems]] == [
            (["body", "name"], "「名前」を入力してください"),
            (["body", "action", "region"], "「リージョン」を ap-northeast-1 のような形式で入力してください"),
            (
                ["body", "post_processing", "on_failure", 0, "parameters", "url"],
                "'ftp://x' は http または https の URL ではありません",
            ),
            (["body", "schedule"], "'every minute' は cron 式ではありません。0 9 * * 1-5 のような形式で入力してください"),
            (
                ["body", "action", "parameters", "instance_ids", 1],
                "「インスタンス ID」を i-0123456789abcdef0 のような形式で入力してください（2 件目）",
            ),
        ]
        assert list(jobs_folder.iterdir()) == []

    @pytest.mark.parametrize("method", ["POST", "PUT"])
    def test_create_and_update_refuse_the_same_problems_with_a_422(self, client, jobs_folder, method):
        path = "/api/jobs" if method == "POST" else f"/api/jobs/{make_job('kept').job.id}"

        response = client.request(method, path, json=WRONG_EVERYWHERE)

        assert response.status_code == 422
        assert response.json()["detail"] == WRONG_EVERYWHERE_PROBLEMS
        assert response.json()["message"].startswith(
            "The request is invalid: body.name: Enter a name; "
            "body.action.region: Enter a region such as ap-northeast-1; "
        )

    @pytest.mark.parametrize(
        ("action", "message"),
        [
            ({"type": ""}, "Choose an action"),
            ({"aws_conn_id": "aws_demo"}, "Choose an action"),
            ({"type": "ec2_explode"}, "Choose an action: 'ec2_explode' is not one"),
        ],
    )
    def test_an_action_not_chosen_asks_for_one_without_listing_the_catalogue(self, client, action, message):
        response = client.post("/api/jobs/validate", json={"name": "n", "action": action})

        assert response.json()["problems"] == [
            {"loc": ["body", "action", "type"], "msg": message, "type": response.json()["problems"][0]["type"]}
        ]

    def test_a_name_too_long_is_refused_not_cut(self, client, jobs_folder):
        response = client.post("/api/jobs", json={"name": "n" * 500, "action": EC2})

        assert response.status_code == 422
        assert response.json()["detail"] == [
            {"loc": ["body", "name"], "msg": "Enter at most 200 characters (this has 500)", "type": "string_too_long"}
        ]
        assert list(jobs_folder.iterdir()) == []

    @pytest.mark.parametrize("region", ["ap-northeast-1", "us-gov-west-1", "cn-north-1", "", None])
    def test_a_region_of_any_partition_or_none_is_valid(self, client, region):
        response = client.post("/api/jobs/validate", json={"name": "ok", "action": {**EC2, "region": region}})

        assert response.json() == {"valid": True, "problems": []}

    def test_a_valid_body_is_accepted_and_nothing_is_saved(self, client, jobs_folder):
        response = client.post("/api/jobs/validate", json={"name": "ok", "action": EC2})

        assert (response.status_code, response.json()) == (200, {"valid": True, "problems": []})
        assert list(jobs_folder.iterdir()) == []

    def test_needs_a_login(self, client):
        del client.headers["Authorization"]
        assert client.post("/api/jobs/validate", json={}).status_code == 401

    @pytest.mark.parametrize("path", ["/api/jobs/validate", "/api/jobs"])
    def test_a_template_computing_a_huge_power_is_refused_not_computed(self, client, jobs_folder, path):
        mail = {"type": "email", "parameters": {"to": ["ops@example.com"], "subject": "{{ 9 ** (9 ** 7) }}"}}

        response = client.post(path, json={"name": "n", "action": EC2, "post_processing": {"on_failure": [mail]}})

        problem = "template computes too much: the result of ** would be larger than 4096 bits"
        where = ["body", "post_processing", "on_failure", 0, "parameters", "subject"]
        placed = [{"loc": where, "msg": problem, "type": "value_error"}]
        if path.endswith("/validate"):
            assert response.json() == {"valid": False, "problems": placed}
        else:
            assert (response.status_code, response.json()["detail"]) == (422, placed)
        assert list(jobs_folder.iterdir()) == []

    @pytest.mark.parametrize("path", ["/api/jobs/validate", "/api/jobs"])
    def test_a_nul_character_anywhere_is_refused_at_its_field(self, client, jobs_folder, path):
        action = {"type": "utility_no_action", "parameters": {"note": "before\u0000after"}}

        response = client.post(path, json={"name": "n", "action": action})

        problem = "note: the NUL character (\\x00) is not allowed: Airflow's metadata database cannot store it"
        placed = [{"loc": ["body", "action", "parameters"], "msg": problem, "type": "value_error"}]
        if path.endswith("/validate"):
            assert response.json() == {"valid": False, "problems": placed}
        else:
            assert (response.status_code, response.json()["detail"]) == (422, placed)
        assert list(jobs_folder.iterdir()) == []


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"type": "nope"}, [("action", "type")]),
        ({"type": "ec2_start_instances", "parameters": {"tag_key": "Env"}}, [("action", "parameters")]),
        (
            {**EC2, "parameters_at_execution": True, "parameters": {"tag_key": "Env"}},
            [("action", "parameters")],
        ),
        (
            {"type": "ec2_start_instances", "parameters": {"tag_value": ""}},
            [("action", "parameters", "tag_value")],
        ),
    ],
)
def test_parameter_errors_are_located_with_the_catalogue_models(action, expected):
    errors = job_body_errors({"name": "x", "action": action})

    assert [error.loc for error in errors] == expected
    assert all(isinstance(error, FieldError) and error.msg for error in errors)


def test_a_valid_body_has_no_errors():
    assert job_body_errors({"name": "x", "action": EC2}) == []


def break_spec(jobs_folder, job_id: int) -> str:
    """Give a job's file a group too long for Airflow's DAG tag, as a hand edit might; return the message."""
    path = spec_path(jobs_folder, job_id)
    path.write_text(path.read_text().replace("group: default", f"group: {'g' * 95}"))
    return (
        f"job_{job_id}.yaml: group: at most 94 characters, not 95: the job's DAG is tagged 'group:<group>', "
        "and Airflow allows tags of at most 100 characters"
    )


def broken_job(job_id: int, message: str) -> dict:
    return {
        "id": job_id,
        "dag_id": f"http_trigger_job_{job_id}",
        "spec_error": {
            "file": f"job_{job_id}.yaml",
            "message": message,
            "problems": [{"field": "group", "reason": message.split(": group: ", 1)[1]}],
        },
    }


class TestBrokenJobs:
    NOTES = "notes.yaml: (file): not named as a job spec: spec files are named job_<id>.yaml, e.g. job_7.yaml"

    def test_the_list_shows_a_broken_job_with_its_problem_on_every_page(self, client, jobs_folder):
        good = make_job("good")
        bad = make_job("soon broken")
        message = break_spec(jobs_folder, bad.job.id)
        (jobs_folder / "notes.yaml").write_text("remember: the milk\n")

        listed = client.get("/api/jobs", params={"group": "default", "limit": 1, "offset": 1}).json()

        assert [job["id"] for job in listed["jobs"]] == []
        assert listed["total_entries"] == 1
        assert listed["broken_jobs"] == [broken_job(bad.job.id, message)]
        assert listed["spec_errors"] == [message, self.NOTES]
        assert [job["id"] for job in client.get("/api/jobs").json()["jobs"]] == [good.job.id]

    def test_the_detail_of_a_broken_job_is_its_problem(self, client, jobs_folder):
        bad = make_job("soon broken")
        message = break_spec(jobs_folder, bad.job.id)

        response = client.get(f"/api/jobs/{bad.job.id}")

        assert (response.status_code, response.json()) == (200, broken_job(bad.job.id, message))

    def test_a_broken_job_is_repaired_by_an_update(self, client, jobs_folder):
        bad = make_job("soon broken")
        break_spec(jobs_folder, bad.job.id)

        response = client.put(f"/api/jobs/{bad.job.id}", json={"name": "repaired", "action": EC2})

        assert response.status_code == 200, response.text
        assert client.get(f"/api/jobs/{bad.job.id}").json()["name"] == "repaired"
        assert client.get("/api/jobs").json()["broken_jobs"] == []

    def test_a_job_whose_dag_cannot_be_built_is_broken_with_the_reason(self, client, monkeypatch):
        good = make_job("good")
        real = dag_builder.build_dag

        def failing_for_one_job(job):
            if job.name == "cannot be built":
                raise RuntimeError("the notifier exploded")
            return real(job)

        monkeypatch.setattr(dag_builder, "build_dag", failing_for_one_job)
        bad = make_job("cannot be built")

        listed = client.get("/api/jobs").json()
        shown = client.get(f"/api/jobs/{bad.job.id}")

        reason = "the job's DAG cannot be built: RuntimeError: the notifier exploded"
        expected = {
            "id": bad.job.id,
            "dag_id": bad.job.dag_id,
            "spec_error": {
                "file": f"job_{bad.job.id}.yaml",
                "message": f"job_{bad.job.id}.yaml: (dag): {reason}",
                "problems": [{"field": "(dag)", "reason": reason}],
            },
        }
        assert [job["id"] for job in listed["jobs"]] == [good.job.id]
        assert listed["broken_jobs"] == [expected]
        assert (shown.status_code, shown.json()) == (200, expected)

    def test_a_broken_job_the_user_may_not_read_is_not_shown(self, airflow_db, jobs_folder):
        visible = make_job("visible")
        hidden = make_job("hidden")
        break_spec(jobs_folder, visible.job.id)
        break_spec(jobs_folder, hidden.job.id)

        with create_session() as session:
            page = jobs_service.find_jobs(session=session, readable=lambda ids: {visible.job.dag_id} & ids)

        assert [spec.job_id for spec in page.broken_jobs] == [visible.job.id]
        assert [message.split(":")[0] for message in page.spec_errors] == [f"job_{visible.job.id}.yaml"]
