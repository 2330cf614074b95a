"""The CLI, ``airflow http-trigger`` and its ``http-trigger`` alias: checks, jobs, secrets and the audit."""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from http_trigger import cli

GOOD_SPEC = """\
id: {job_id}
name: good
action: {{type: ec2_start_instances, parameters: {{tag_key: Env, tag_value: test}}}}
"""
GROUP_REASON = (
    "at most 94 characters, not 95: the job's DAG is tagged 'group:<group>', "
    "and Airflow allows tags of at most 100 characters"
)
YAML_REASON = (
    "not valid YAML: while parsing a flow sequence (line 1, column 7): did not find expected ',' or ']' "
    "(line 2, column 1)"
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    for job_id in (1, 2):
        (jobs / f"job_{job_id}.yaml").write_text(GOOD_SPEC.format(job_id=job_id))
    return jobs


def break_files(folder: Path) -> None:
    (folder / "job_3.yaml").write_text(GOOD_SPEC.format(job_id=3) + f"group: {'g' * 95}\nschedule: nightly\n")
    (folder / "job_4.yaml").write_text("name: [unclosed\n")


def test_good_specs_exit_0_and_print_no_problem(folder, capsys):
    assert cli.main(["jobs", "check", str(folder)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "2 spec files checked: no problem\n"


def test_each_problem_is_one_line_file_field_reason_and_the_exit_is_1(folder, capsys):
    break_files(folder)
    missing = folder / "job_9.yaml"

    code = cli.main(["jobs", "check", "-o", "plain", str(folder / "job_1.yaml"), str(folder), str(missing)])

    assert code == 1
    captured = capsys.readouterr()
    assert captured.err == "5 spec files checked: problems in 4 files\n"
    lines = [" ".join(line.split()) for line in captured.out.splitlines()]
    assert lines == [
        "file job_id field reason",
        f"{missing} (file) no such file",
        f"{folder}/job_3.yaml 3 group {' '.join(GROUP_REASON.split())}",
        f"{folder}/job_3.yaml 3 schedule Enter a cron expression such as 0 9 * * 1-5: 'nightly' is not one",
        f"{folder}/job_4.yaml 4 (file) {' '.join(YAML_REASON.split())}",
        f"{folder}/job_1.yaml 1 id job 1 is already defined by {folder}/job_1.yaml",
    ]


def test_json_is_a_list_of_problems(folder, capsys):
    break_files(folder)

    assert cli.main(["jobs", "check", "-o", "json", str(folder)]) == 1
    assert json.loads(capsys.readouterr().out) == [
        {"file": f"{folder}/job_3.yaml", "job_id": 3, "field": "group", "reason": GROUP_REASON},
        {"file": f"{folder}/job_3.yaml", "job_id": 3, "field": "schedule",
         "reason": "Enter a cron expression such as 0 9 * * 1-5: 'nightly' is not one"},
        {"file": f"{folder}/job_4.yaml", "job_id": 4, "field": "(file)", "reason": YAML_REASON},
    ]


def test_it_runs_without_a_stack_or_a_database(folder, tmp_path):
    """What CI has: the package and a checkout, no AIRFLOW_HOME of a running Airflow."""
    break_files(folder)
    home = tmp_path / "airflow-home"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AIRFLOW_HOME": str(home),
           "PYTHONPATH": os.pathsep.join(sys.path)}

    result = subprocess.run(
        [sys.executable, "-m", "http_trigger.cli", "jobs", "check", "-o", "json", str(folder)],
        env=env, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 1, result.stderr
    assert [problem["file"] for problem in json.loads(result.stdout)] == [f"{folder}/job_3.yaml"] * 2 + [
        f"{folder}/job_4.yaml"
    ]
    assert not (home / "airflow.db").exists()


def test_the_commands_are_a_group_of_airflows_own_cli():
    from airflow.cli import cli_parser

    args = cli_parser.get_parser().parse_args(["http-trigger", "jobs", "show", "7", "-o", "yaml"])

    assert (args.func.__name__, args.job_id, args.output) == ("jobs_show", 7, "yaml")
    with pytest.raises(SystemExit):
        cli_parser.get_parser().parse_args(["http-trigger", "jobs", "list", "-o", "xml"])


class TestListAndShow:
    """The jobs the CLI lists and shows include a broken one, with its problem."""

    @pytest.fixture
    def broken_job_id(self, airflow_db, jobs_folder) -> int:
        from airflow.utils.session import create_session
        from http_trigger import jobs_service
        from http_trigger.jobs.model import JobBody

        from ..jobs_support import ACTOR

        with create_session() as session:
            for name in ("good", "soon broken"):
                details = jobs_service.create_job(
                    session=session,
                    actor=ACTOR,
                    body=JobBody.model_validate({"name": name, "action": {
                        "type": "ec2_start_instances", "parameters": {"tag_key": "Env", "tag_value": "test"}}}),
                )
        (jobs_folder / f"job_{details.job.id}.yaml").write_text("name: [unclosed\n")
        return details.job.id

    def test_show_names_the_problem(self, broken_job_id, capsys):
        message = f"job_{broken_job_id}.yaml: (file): {YAML_REASON}"
        assert cli.main(["jobs", "show", str(broken_job_id), "-o", "json"]) == 0
        assert json.loads(capsys.readouterr().out) == [{
            "id": broken_job_id,
            "spec_error": {"file": f"job_{broken_job_id}.yaml", "message": message,
                           "problems": [{"field": "(file)", "reason": YAML_REASON}]},
        }]
        assert cli.main(["jobs", "show", str(broken_job_id), "-o", "plain"]) == 0
        assert "(file)" in capsys.readouterr().out

    def test_list_shows_the_broken_job_beside_the_good_one(self, broken_job_id, capsys):
        assert cli.main(["jobs", "list", "-o", "json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [job.get("name") for job in listed] == ["good", None]
        assert listed[1]["id"] == broken_job_id
        assert listed[1]["spec_error"]["problems"] == [{"field": "(file)", "reason": YAML_REASON}]

        assert cli.main(["jobs", "list", "-o", "plain"]) == 0
        captured = capsys.readouterr()
        assert [line.split() for line in captured.out.splitlines()][-1] == [
            str(broken_job_id), "(spec", "invalid:", "cannot", "run)", "-", "-", "-"
        ]
        assert captured.err == f"error: job_{broken_job_id}.yaml: (file): {YAML_REASON}\n"


class TestSecrets:
    """The CLI shows jobs as the API does: secrets masked, but what a create just issued; reveal is recorded."""

    SPEC = {
        "name": "chained",
        "action": {"type": "ec2_start_instances", "parameters": {"tag_key": "Env", "tag_value": "test"}},
        "post_processing": {"on_failure": [
            {"type": "webhook", "parameters": {"url": "https://ops.example.com/in", "authorization": "CAAuth cli-1"}}
        ]},
    }

    def run(self, capsys, *argv: str) -> list[dict]:
        assert cli.main([*argv, "-o", "json"]) == 0
        return json.loads(capsys.readouterr().out)

    @pytest.fixture
    def created(self, airflow_db, jobs_folder, tmp_path, capsys) -> dict:
        spec = tmp_path / "chained.yaml"
        spec.write_text(json.dumps(self.SPEC))
        [created] = self.run(capsys, "jobs", "create", "-f", str(spec))
        return created

    def test_create_prints_the_issued_url_and_token_and_masks_the_rest(self, created):
        assert created["curl"] == (
            f'curl -X POST -H "Authorization: CAAuth {created["token"]}" -H "Content-Length: 0" {created["trigger_url"]}'
        )
        assert created["masked_fields"] == ["post_processing.on_failure.0.parameters.authorization"]
        assert "cli-1" not in json.dumps(created)

    def test_show_and_list_print_no_secret(self, created, capsys):
        secrets = ("cli-1", created["token"], created["trigger_url"].rsplit("/", 1)[1])
        [shown] = self.run(capsys, "jobs", "show", str(created["id"]))
        listed = self.run(capsys, "jobs", "list")
        assert cli.main(["jobs", "show", str(created["id"]), "-o", "plain"]) == 0
        printed = capsys.readouterr()

        for output in (json.dumps(shown), json.dumps(listed), printed.out):
            assert [secret for secret in secrets if secret in output] == []
        assert (shown["token"], shown["curl"], listed[0]["token"]) == ("••••", None, "••••")
        assert ["token", "••••"] in [line.split() for line in printed.out.splitlines()]
        assert printed.err == f"Masked values: `http-trigger jobs reveal {created['id']}` shows them\n"

    def test_yaml_holds_what_json_holds(self, created, capsys):
        [shown] = self.run(capsys, "jobs", "show", str(created["id"]))

        assert cli.main(["jobs", "show", str(created["id"]), "-o", "yaml"]) == 0
        assert yaml.safe_load(capsys.readouterr().out) == [shown]

    def test_reveal_prints_every_secret_and_records_the_shell_user(self, created, capsys):
        from airflow.models.log import Log
        from airflow.utils.session import create_session
        from sqlalchemy import select

        revealed = self.run(capsys, "jobs", "reveal", str(created["id"]))

        assert revealed == [{
            "id": created["id"],
            "trigger_url": created["trigger_url"],
            "token": created["token"],
            "signing_secret": created["signing_secret"],
            "curl": created["curl"],
            "post_processing.on_failure.0.parameters.authorization": "CAAuth cli-1",
        }]
        with create_session() as session:
            [row] = session.scalars(select(Log).where(Log.event == "http_trigger.reveal", Log.dag_id == created["dag_id"]))
            assert (row.owner, json.loads(row.extra)["job_id"]) == (getpass.getuser(), created["id"])

    def test_update_from_the_shown_spec_keeps_the_masked_secret(self, created, capsys, tmp_path):
        [shown] = self.run(capsys, "jobs", "show", str(created["id"]))
        spec = tmp_path / "renamed.yaml"
        spec.write_text(json.dumps({**{key: shown[key] for key in ("action", "post_processing")}, "name": "renamed"}))

        [updated] = self.run(capsys, "jobs", "update", str(created["id"]), "-f", str(spec))

        assert (updated["name"], updated["token"]) == ("renamed", "••••")
        [revealed] = self.run(capsys, "jobs", "reveal", str(created["id"]))
        assert revealed["post_processing.on_failure.0.parameters.authorization"] == "CAAuth cli-1"


class TestDuplicate:
    """``jobs duplicate`` copies a job under a new id, URL and token, and audits it as a create."""

    run = TestSecrets.run

    @pytest.fixture
    def original(self, airflow_db, jobs_folder, tmp_path, capsys) -> dict:
        spec = tmp_path / "chained.yaml"
        spec.write_text(json.dumps({**TestSecrets.SPEC, "schedule": "0 9 * * 1-5", "group": "ops"}))
        [created] = self.run(capsys, "jobs", "create", "-f", str(spec))
        return created

    def test_the_copy_has_the_definition_and_new_secrets(self, original, capsys):
        [copy] = self.run(capsys, "jobs", "duplicate", str(original["id"]))

        assert copy["id"] != original["id"]
        assert (copy["name"], copy["enabled"]) == ("chained (copy)", False)
        same = ("group", "schedule", "action", "trigger", "description", "tags")
        assert {key: copy[key] for key in same} == {key: original[key] for key in same}
        assert copy["token"] not in ("••••", original["token"])
        assert copy["trigger_url"] != original["trigger_url"]
        [revealed] = self.run(capsys, "jobs", "reveal", str(copy["id"]))
        assert revealed["post_processing.on_failure.0.parameters.authorization"] == "CAAuth cli-1"

    def test_name_and_enabled_and_the_audit_entry(self, original, capsys):
        from airflow.models.log import Log
        from airflow.utils.session import create_session
        from sqlalchemy import select

        [copy] = self.run(capsys, "jobs", "duplicate", str(original["id"]), "--name", "nightly copy", "--enabled")

        assert (copy["name"], copy["enabled"]) == ("nightly copy", True)
        with create_session() as session:
            [row] = session.scalars(select(Log).where(Log.event == "http_trigger.create", Log.dag_id == copy["dag_id"]))
            assert (row.owner, json.loads(row.extra)) == (
                getpass.getuser(),
                {"duplicated_from": original["id"], "job_id": copy["id"], "channel": "cli", "source_address": None},
            )

    def test_a_plain_copy_prints_one_line_per_field(self, original, capsys):
        assert cli.main(["jobs", "duplicate", str(original["id"]), "-o", "plain"]) == 0

        lines = [line.split(None, 1) for line in capsys.readouterr().out.splitlines()]
        assert ["name", "chained (copy)"] in lines

    def test_an_unknown_job_or_a_bad_name_is_one_line_and_exit_1(self, original, capsys):
        assert cli.main(["jobs", "duplicate", "999999"]) == 1
        assert capsys.readouterr().err == "error: Job 999999 does not exist\n"
        assert cli.main(["jobs", "duplicate", str(original["id"]), "--name", "  "]) == 1
        assert capsys.readouterr().err == (
            f"error: copy of job {original['id']}: name: String should have at least 1 character (got '  ')\n"
        )

    def test_it_is_a_command_of_airflows_own_cli(self):
        from airflow.cli import cli_parser

        args = cli_parser.get_parser().parse_args(["http-trigger", "jobs", "duplicate", "7", "--name", "x", "-o", "json"])

        assert (args.func.__name__, args.job_id, args.name, args.enabled, args.output) == (
            "jobs_duplicate", 7, "x", False, "json"
        )


class TestAudit:
    """Every change, run and reveal from the CLI is audited as the shell's user on channel cli; export writes CSV."""

    @pytest.fixture
    def changed_job(self, airflow_db, jobs_folder, tmp_path, capsys) -> dict:
        """A job created, updated, rotated, run, revealed and deleted from the CLI."""
        from ..api_support import parse_jobs_into_db
        capsys.readouterr()  # what importing the test client logs
        spec = tmp_path / "job.yaml"
        spec.write_text(json.dumps(TestSecrets.SPEC))
        assert cli.main(["jobs", "create", "-f", str(spec), "-o", "json"]) == 0
        [job] = json.loads(capsys.readouterr().out)
        spec.write_text(json.dumps({**TestSecrets.SPEC, "name": "renamed"}))
        parse_jobs_into_db()
        for argv in (["update", "-f", str(spec)], ["rotate"], ["trigger", "-o", "json"], ["reveal"], ["delete"]):
            assert cli.main(["jobs", argv[0], str(job["id"]), *argv[1:]]) == 0
            printed = capsys.readouterr().out
            if argv[0] == "trigger":
                [started] = json.loads(printed)
                job["dag_run_id"] = started["dag_run_id"]
        return job

    def test_export_writes_the_jobs_entries_newest_first_with_no_secret(self, changed_job, tmp_path, capsys):
        output = tmp_path / "audit.csv"

        assert cli.main(["audit", "export", "--job", str(changed_job["id"]), str(output)]) == 0

        assert capsys.readouterr().err == f"6 audit entries written to {output}\n"
        with output.open(newline="", encoding="utf-8") as exported:
            rows = list(csv.DictReader(exported))
        revealed = ["trigger_url", "token", "signing_secret", "post_processing.on_failure.0.parameters.authorization"]
        assert [(row["event"], row["details"]) for row in rows] == [
            ("http_trigger.delete", ""),
            ("http_trigger.reveal", json.dumps({"fields": revealed})),
            ("http_trigger.run_now", json.dumps({"dag_run_id": changed_job["dag_run_id"]})),
            ("http_trigger.rotate", ""),
            ("http_trigger.update", json.dumps({"fields": ["name"]})),
            ("http_trigger.create", ""),
        ]
        expected = {
            "user": getpass.getuser(), "job_id": str(changed_job["id"]), "dag_id": changed_job["dag_id"],
            "channel": "cli", "source_address": "",
        }
        assert [{key: row[key] for key in expected} for row in rows] == [expected] * 6
        text = output.read_text()
        assert [secret for secret in ("cli-1", changed_job["token"]) if secret in text] == []

    def test_export_to_standard_output_since_a_time_and_its_mistakes(self, changed_job, capsys):
        assert cli.main(["audit", "export", "--since", "2999-01-01"]) == 0
        assert capsys.readouterr().out == "when,event,user,job_id,dag_id,channel,source_address,details\r\n"
        assert cli.main(["audit", "export", "--job", str(changed_job["id"])]) == 0
        own = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        # Every job's entries since this job was created: this job's only, as no other changed since.
        assert cli.main(["audit", "export", "--since", own[-1]["when"]]) == 0
        assert list(csv.DictReader(io.StringIO(capsys.readouterr().out))) == own
        assert len(own) == 6

        assert cli.main(["audit", "export", "--job", "999999"]) == 1
        assert capsys.readouterr().err == "error: Job 999999 does not exist\n"
        with pytest.raises(SystemExit) as exited:
            cli.main(["audit", "export", "--since", "yesterday"])
        assert exited.value.code == 2
        assert (
            "argument --since: 'yesterday' is not an ISO 8601 date or time, e.g. 2026-01-31T09:00"
            in capsys.readouterr().err
        )


def test_iam_policy_prints_the_policy_the_actions_need_and_refuses_an_unknown_one(capsys):
    assert cli.main(["actions", "iam-policy", "ec2_start_instances", "ec2_stop_instances"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EC2",
            "Effect": "Allow",
            "Action": ["ec2:DescribeInstances", "ec2:StartInstances", "ec2:StopInstances"],
            "Resource": "*",
        }],
    }

    assert cli.main(["actions", "iam-policy", "ec2_teleport_instances"]) == 1
    assert capsys.readouterr().err.startswith(
        "error: Unknown action type 'ec2_teleport_instances'; known types: aurora_create_db_cluster_snapshot, "
    )


def test_factory_write_places_a_set_of_factory_files_and_refuses_an_impossible_one(tmp_path, capsys):
    dags = tmp_path / "dags"
    (dags / "my_dag.py").parent.mkdir()
    (dags / "my_dag.py").write_text("# a deployment's own DAG file")

    assert cli.main(["factory", "write", str(dags)]) == 0
    assert capsys.readouterr().out == f"{dags}/http_trigger_jobs.py builds every job's DAG\n"

    assert cli.main(["factory", "write", str(dags), "--shards", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"removed {dags}/http_trigger_jobs.py",
        f"3 factory files in {dags} (http_trigger_jobs_00_of_03.py … http_trigger_jobs_02_of_03.py) build the"
        " jobs' DAGs: each job in the file of its id modulo 3",
    ]
    assert sorted(path.name for path in dags.iterdir()) == [
        "http_trigger_jobs_00_of_03.py", "http_trigger_jobs_01_of_03.py", "http_trigger_jobs_02_of_03.py",
        "my_dag.py",
    ]  # fmt: skip

    assert cli.main(["factory", "write", str(dags), "--shards", "0"]) == 1
    assert capsys.readouterr().err == "error: a set of factory files has 1 to 256 files, not 0\n"
    assert len(list(dags.iterdir())) == 4  # nothing removed
