"""The CLI lists and shows a job whose spec does not load, with its problem."""

from __future__ import annotations

import json

import pytest

from http_trigger import cli

YAML_REASON = (
    "not valid YAML: while parsing a flow sequence (line 1, column 7): did not find expected ',' or ']' "
    "(line 2, column 1)"
)


class TestListAndShow:
    """The jobs the CLI lists and shows include a broken one, with its problem."""

    @pytest.fixture
    def broken_job_id(self, airflow_db, jobs_folder) -> int:
        from airflow.utils.session import create_session

        from http_trigger import jobs_service
        from http_trigger.job_model import JobBody

        with create_session() as session:
            for name in ("good", "soon broken"):
                details = jobs_service.create_job(
                    session=session,
                    body=JobBody.model_validate({"name": name, "action": {
                        "type": "ec2_start_instances", "parameters": {"tag_key": "Env", "tag_value": "test"}}}),
                )
        (jobs_folder / f"job_{details.job.id}.yaml").write_text("name: [unclosed\n")
        return details.job.id

    def test_show_names_the_problem(self, broken_job_id, capsys):
        assert cli.main(["jobs", "show", str(broken_job_id)]) == 0
        assert capsys.readouterr().out.splitlines() == [
            f"Job {broken_job_id}: cannot run, its spec is invalid; fix the file",
            f"  job_{broken_job_id}.yaml: (file): {YAML_REASON}",
        ]
        assert cli.main(["jobs", "show", str(broken_job_id), "--json"]) == 0
        message = f"job_{broken_job_id}.yaml: (file): {YAML_REASON}"
        assert json.loads(capsys.readouterr().out) == {
            "id": broken_job_id,
            "spec_error": {"file": f"job_{broken_job_id}.yaml", "message": message,
                           "problems": [{"field": "(file)", "reason": YAML_REASON}]},
        }

    def test_list_shows_the_broken_job_beside_the_good_one(self, broken_job_id, capsys):
        assert cli.main(["jobs", "list", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [job["name"] for job in listed["jobs"]] == ["good"]
        assert [job["id"] for job in listed["broken_jobs"]] == [broken_job_id]
        assert listed["spec_errors"] == [f"job_{broken_job_id}.yaml: (file): {YAML_REASON}"]

        assert cli.main(["jobs", "list"]) == 0
        captured = capsys.readouterr()
        assert f"{broken_job_id:>5}  (spec invalid: cannot run)" in captured.out
        assert captured.err == f"error: job_{broken_job_id}.yaml: (file): {YAML_REASON}\n"
