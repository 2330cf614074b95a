"""``http-trigger post-processing``: the shared definitions from the shell, as the API shows and changes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from http_trigger import cli

DEFINITION = {"name": "team-hook", "type": "webhook", "parameters": {"url": "https://ops.example.com/in", "authorization": "CAAuth cli-1"}}
EC2 = {"type": "ec2_start_instances", "parameters": {"tag_key": "Env", "tag_value": "test"}}


def run(capsys, *argv: str) -> list[dict]:
    assert cli.main([*argv, "-o", "json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def write(path: Path, data: dict) -> str:
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture
def created(airflow_db, jobs_folder, tmp_path, capsys) -> dict:
    [created] = run(capsys, "post-processing", "create", "-f", write(tmp_path / "team-hook.yaml", DEFINITION))
    return created


def test_create_show_and_list_print_no_secret(created, capsys):
    [shown] = run(capsys, "post-processing", "show", "team-hook")
    listed = run(capsys, "post-processing", "list")

    for output in (created, shown, listed):
        assert "cli-1" not in json.dumps(output)
    assert shown["masked_fields"] == ["parameters.authorization"]
    assert [definition["name"] for definition in listed] == ["team-hook"]


def test_update_from_the_shown_definition_keeps_the_masked_secret(created, capsys, tmp_path, jobs_folder):
    [shown] = run(capsys, "post-processing", "show", "team-hook")
    changed = {"name": "team-hook", "type": "webhook", "parameters": {**shown["parameters"], "timeout_seconds": 5}}

    [updated] = run(capsys, "post-processing", "update", "team-hook", "-f", write(tmp_path / "changed.yaml", changed))

    assert updated["parameters"]["timeout_seconds"] == 5
    stored = yaml.safe_load((jobs_folder / "post_processing" / "team-hook.yaml").read_text())
    assert stored["parameters"]["authorization"] == "CAAuth cli-1"


def test_update_refuses_a_file_of_another_definition(created, capsys, tmp_path):
    other = write(tmp_path / "other.yaml", {**DEFINITION, "name": "other"})

    assert cli.main(["post-processing", "update", "team-hook", "-f", other]) == 1
    assert capsys.readouterr().err == f"error: {other}: name: 'other' is not the definition being updated ('team-hook')\n"


def test_delete_in_use_prints_the_jobs_and_exits_1_then_deletes_when_unused(created, capsys, tmp_path):
    job_spec = {"name": "Nightly stop", "action": EC2, "post_processing": {"on_failure": [{"ref": "team-hook"}]}}
    [job] = run(capsys, "jobs", "create", "-f", write(tmp_path / "job.yaml", job_spec))
    assert job["post_processing"]["on_failure"] == [{"ref": "team-hook"}]

    assert cli.main(["post-processing", "delete", "team-hook"]) == 1
    assert capsys.readouterr().err == (
        f"error: Post-processing definition 'team-hook' is used by jobs {job['id']} (Nightly stop); "
        "remove it from them first\n"
    )

    run(capsys, "jobs", "delete", str(job["id"]))
    assert run(capsys, "post-processing", "delete", "team-hook") == [{"deleted": "team-hook"}]
    assert cli.main(["post-processing", "show", "team-hook"]) == 1
    assert capsys.readouterr().err == "error: Post-processing definition 'team-hook' does not exist\n"


def test_a_table_is_one_line_per_definition(created, capsys):
    assert cli.main(["post-processing", "list", "-o", "plain"]) == 0

    [line] = [line.split() for line in capsys.readouterr().out.splitlines() if "team-hook" in line]
    assert line == ["team-hook", "webhook", "2", "-"]


def test_they_are_commands_of_airflows_own_cli():
    from airflow.cli import cli_parser

    args = cli_parser.get_parser().parse_args(["http-trigger", "post-processing", "update", "team-hook", "-f", "x.yaml"])

    assert (args.func.__name__, args.name, args.file) == ("post_processing_update", "team-hook", "x.yaml")
