"""What each ``airflow http-trigger`` command does, on the metadata DB and jobs folder of ``AIRFLOW_HOME``.

Like Airflow's own commands, they work on the database directly, through the same service functions
as the JSON API, so every rule lives in one place. They show jobs as the API does
(:func:`http_trigger.job_view.job_view`): secrets masked, but the URL and token a create or a
rotation just issued; ``jobs reveal`` shows them all. Every change, run and reveal is recorded in
the job's audit (:mod:`http_trigger.jobs.audit`, Airflow's audit log) under the shell's user name
and the ``cli`` channel, as Airflow records its own CLI commands; ``audit export`` writes that audit
as CSV. ``jobs check`` and ``actions`` need no database: the first runs the DAG factory's own
load-validate-build on spec files, so CI can gate on it. The ``post-processing`` commands show and
change the shared post-processing definitions as the API does (:mod:`http_trigger.definitions_service`).

Results go through Airflow's console in the format ``-o`` asks: ``json`` and ``yaml`` give every
field the API gives, ``table`` and ``plain`` one line per job, or one line per field of one job.
A domain error prints one line on standard error and exits with status 1.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from airflow.cli.simple_table import AirflowConsole
from airflow.utils.cli import suppress_logs_and_warning
from airflow.utils.providers_configuration_loader import providers_configuration_loaded
from airflow.utils.session import create_session
from sqlalchemy.orm import Session

from http_trigger import jobs_service
from http_trigger.errors import HttpTriggerError, JobBrokenError, JobNotFoundError, JobSpecError
from http_trigger.job_view import job_view, reveal_secrets
from http_trigger.jobs.audit import Actor, Channel

Record = dict[str, Any]


def _command(
    *, uses_db: bool = True
) -> Callable[[Callable[..., int | None]], Callable[[argparse.Namespace], None]]:
    """Make ``function(args[, session])`` a command: Airflow's configuration, a session, one-line errors."""

    def decorate(function: Callable[..., int | None]) -> Callable[[argparse.Namespace], None]:
        @functools.wraps(function)
        @providers_configuration_loaded
        def run(args: argparse.Namespace) -> None:
            try:
                if uses_db:
                    with create_session() as session:
                        status = function(args, session)
                else:
                    status = function(args)
            except HttpTriggerError as error:
                print(f"error: {error}", file=sys.stderr)
                raise SystemExit(1) from None
            if status:
                raise SystemExit(status)

        return run

    return decorate


def _print_records(records: list[Record], output: str, *, one_line: Callable[[Record], Record]) -> None:
    """Print ``records`` in full as JSON or YAML, or ``one_line`` of each as a table.

    JSON and YAML go out as the records are, numbers and nesting kept for scripts; Airflow's
    ``print_as`` would make every value a string.
    """
    console = AirflowConsole()
    if output == "json":
        console.print_as_json(records)
    elif output == "yaml":
        console.print_as_yaml(records)
    else:
        console.print_as(data=[one_line(record) for record in records], output=output)


def _print_record(record: Record, output: str) -> None:
    """Print one record: in full as JSON or YAML, as a field/value table otherwise."""
    if output in ("json", "yaml"):
        _print_records([record], output, one_line=dict)
    else:
        rows = [{"field": key, "value": _cell(value)} for key, value in record.items()]
        AirflowConsole().print_as(data=rows, output=output)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(item) for item in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _actor() -> Actor:
    """Return who runs the command, for the audit: the shell's user, from no network address."""
    return Actor(user_name=getpass.getuser(), channel=Channel.CLI)


def _job_record(details: jobs_service.JobDetails, *, issued: bool = False) -> Record:
    # Whoever runs the CLI works on the database directly: an editor of every job.
    return job_view(details, may_edit=True, issued=issued)


def _broken_record(job_id: int, error: JobSpecError) -> Record:
    return {
        "id": job_id,
        "spec_error": {
            "file": error.source,
            "message": str(error),
            "problems": [{"field": field, "reason": reason} for field, reason in error.problems],
        },
    }


def _job_line(record: Record) -> Record:
    if "spec_error" in record:
        return {
            "id": record["id"],
            "name": "(spec invalid: cannot run)",
            "group": "-",
            "action": "-",
            "enabled": "-",
        }
    enabled = {None: "-", True: "no", False: "yes"}[record["is_paused"]]
    return {
        "id": record["id"],
        "name": record["name"],
        "group": record["group"],
        "action": record["action"]["type"],
        "enabled": enabled,
    }


def _print_job(details: jobs_service.JobDetails, output: str, *, issued: bool = False) -> None:
    record = _job_record(details, issued=issued)
    _print_record(record, output)
    if record["masked_fields"] and output in ("table", "plain"):
        print(f"Masked values: `http-trigger jobs reveal {record['id']}` shows them", file=sys.stderr)


def _read_spec_file(path: str) -> tuple[int | None, Any]:
    """Return the id a spec file may carry and its validated body."""
    from http_trigger.jobs.files import load_spec_mapping, read_spec_content, validate_spec
    from http_trigger.jobs.model import JobBody

    data = load_spec_mapping(read_spec_content(Path(path), source=path), source=path)
    job_id = data.pop("id", None)
    return job_id, validate_spec(data, source=path, model=JobBody)


@suppress_logs_and_warning
@_command()
def jobs_list(args: argparse.Namespace, session: Session) -> None:
    page = jobs_service.find_jobs(session=session)
    records = [_job_record(details) for details in page.jobs]
    records += [
        _broken_record(spec.job_id, spec.error) for spec in page.broken_jobs if spec.job_id is not None
    ]
    _print_records(records, args.output, one_line=_job_line)
    for message in page.spec_errors:
        print(f"error: {message}", file=sys.stderr)


@suppress_logs_and_warning
@_command()
def jobs_show(args: argparse.Namespace, session: Session) -> None:
    try:
        details = jobs_service.get_job_details(session=session, job_id=args.job_id)
    except JobBrokenError as error:
        _print_record(_broken_record(args.job_id, error.spec_error), args.output)
        return
    _print_job(details, args.output)


@suppress_logs_and_warning
@_command()
def jobs_reveal(args: argparse.Namespace, session: Session) -> None:
    details = jobs_service.get_job_details(session=session, job_id=args.job_id)
    revealed = reveal_secrets(session=session, details=details, actor=_actor()).as_json()
    fields = revealed.pop("fields")
    _print_record({**revealed, **{field["field"]: field["value"] for field in fields}}, args.output)
    print(f"Job {args.job_id}: this reveal is recorded in the job's audit", file=sys.stderr)


@suppress_logs_and_warning
@_command()
def jobs_create(args: argparse.Namespace, session: Session) -> None:
    job_id, body = _read_spec_file(args.file)
    created = jobs_service.create_job(session=session, body=body, actor=_actor(), job_id=job_id)
    _print_job(created, args.output, issued=True)


@suppress_logs_and_warning
@_command()
def jobs_update(args: argparse.Namespace, session: Session) -> None:
    job_id, body = _read_spec_file(args.file)
    if job_id not in (None, args.job_id):
        raise JobSpecError(args.file, ("id", f"{job_id} is not the job being updated ({args.job_id})"))
    updated = jobs_service.update_job(session=session, job_id=args.job_id, body=body, actor=_actor())
    _print_job(updated, args.output)


@suppress_logs_and_warning
@_command()
def jobs_duplicate(args: argparse.Namespace, session: Session) -> None:
    copy = jobs_service.duplicate_job(
        session=session, job_id=args.job_id, actor=_actor(), name=args.name, enabled=args.enabled
    )
    _print_job(copy, args.output, issued=True)


@suppress_logs_and_warning
@_command()
def jobs_trigger(args: argparse.Namespace, session: Session) -> None:
    from http_trigger.run_sources import TriggerSource
    from http_trigger.runs.start import parameters_from_json, start_run

    started = start_run(
        session=session,
        job_id=args.job_id,
        source=TriggerSource.CLI,
        parameters=parameters_from_json(args.parameters or "", sent_as="--parameters"),
        actor=_actor(),
    )
    session.commit()
    job = started.job
    answer = {"result": "ok", "trigger_job_id": job.id, "dag_id": job.dag_id, "dag_run_id": started.run_id}
    _print_record(answer, args.output)


@suppress_logs_and_warning
@_command()
def jobs_delete(args: argparse.Namespace, session: Session) -> None:
    jobs_service.delete_job(session=session, job_id=args.job_id, actor=_actor())
    _print_record({"deleted": args.job_id}, args.output)


@suppress_logs_and_warning
@_command()
def jobs_rotate(args: argparse.Namespace, session: Session) -> None:
    rotated = jobs_service.rotate_secret(session=session, job_id=args.job_id, actor=_actor())
    _print_job(rotated, args.output, issued=True)


def _definition_line(record: Record) -> Record:
    used_by = ", ".join(str(job["id"]) for job in record["used_by"]) or "-"
    return {"name": record["name"], "type": record["type"], "retries": record["retries"], "used by jobs": used_by}


def _definition_record(details: Any) -> Record:
    from http_trigger.definitions_service import definition_view

    return definition_view(details, may_edit=True)


def _read_definition_file(path: str) -> Any:
    """Return the validated definition a YAML file holds."""
    from http_trigger.jobs.definitions import may_hold_a_secret
    from http_trigger.jobs.files import load_spec_mapping, read_spec_content, validate_spec
    from http_trigger.jobs.model import PostProcessingDefinition

    data = load_spec_mapping(read_spec_content(Path(path), source=path), source=path, kind="a post-processing definition")
    return validate_spec(data, source=path, model=PostProcessingDefinition, hidden=may_hold_a_secret)


@suppress_logs_and_warning
@_command(uses_db=False)
def post_processing_list(args: argparse.Namespace) -> None:
    from http_trigger import definitions_service

    loaded, broken = definitions_service.list_definitions()
    _print_records([_definition_record(details) for details in loaded], args.output, one_line=_definition_line)
    for spec in broken:
        print(f"error: {spec.error}", file=sys.stderr)


@suppress_logs_and_warning
@_command(uses_db=False)
def post_processing_show(args: argparse.Namespace) -> None:
    from http_trigger import definitions_service

    _print_record(_definition_record(definitions_service.get_definition_details(name=args.name)), args.output)


@suppress_logs_and_warning
@_command()
def post_processing_create(args: argparse.Namespace, session: Session) -> None:
    from http_trigger import definitions_service

    body = _read_definition_file(args.file)
    created = definitions_service.create_definition(session=session, body=body, actor=_actor())
    _print_record(_definition_record(created), args.output)


@suppress_logs_and_warning
@_command()
def post_processing_update(args: argparse.Namespace, session: Session) -> None:
    from http_trigger import definitions_service
    from http_trigger.jobs.model import PostProcessingSpec

    body = _read_definition_file(args.file)
    if body.name != args.name:
        raise JobSpecError(args.file, ("name", f"{body.name!r} is not the definition being updated ({args.name!r})"))
    step = PostProcessingSpec.model_validate(body.model_dump(exclude={"name"}))
    updated = definitions_service.update_definition(session=session, name=args.name, body=step, actor=_actor())
    _print_record(_definition_record(updated), args.output)


@suppress_logs_and_warning
@_command()
def post_processing_delete(args: argparse.Namespace, session: Session) -> None:
    from http_trigger import definitions_service

    definitions_service.delete_definition(session=session, name=args.name, actor=_actor())
    _print_record({"deleted": args.name}, args.output)


def _spec_paths(arguments: Iterable[str]) -> tuple[list[Path], list[Record]]:
    """Return the spec files named or held by ``arguments``, and a problem for each that does not exist."""
    from http_trigger.jobs.spec_names import spec_candidates
    from http_trigger.jobs.spec_yaml import WHOLE_FILE

    paths: list[Path] = []
    missing: list[Record] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            paths.extend(spec_candidates(path))
        elif path.exists():
            paths.append(path)
        else:
            missing.append({"file": argument, "job_id": None, "field": WHOLE_FILE, "reason": "no such file"})
    return paths, missing


@suppress_logs_and_warning
@_command(uses_db=False)
def jobs_check(args: argparse.Namespace) -> int:
    """Load, validate and build spec files as the DAG factory does; 1 when any has a problem."""
    from http_trigger.dag_builder import build_specs

    paths, problems = _spec_paths(args.paths)
    problems += [
        {"file": str(spec.path), "job_id": spec.job_id, "field": field, "reason": reason}
        for spec in build_specs(paths).broken
        for field, reason in spec.error.problems
    ]
    if problems:
        _print_records(problems, args.output, one_line=dict)
    files = len({problem["file"] for problem in problems})
    summary = f"problems in {files} files" if problems else "no problem"
    print(f"{len(paths)} spec files checked: {summary}", file=sys.stderr)
    return 1 if problems else 0


@_command()
def audit_export(args: argparse.Namespace, session: Session) -> None:
    from http_trigger.jobs.audit import job_audit_entries, write_csv

    if args.job is not None and not jobs_service.job_known(session=session, job_id=args.job):
        raise JobNotFoundError(args.job)
    entries, _ = job_audit_entries(session=session, job_id=args.job, since=args.since)
    if args.file is None:
        write_csv(entries, sys.stdout)
        return
    with open(args.file, "w", newline="", encoding="utf-8") as out:
        write_csv(entries, out)
    print(f"{len(entries)} audit entries written to {args.file}", file=sys.stderr)


@_command()
def calls_clean(args: argparse.Namespace, session: Session) -> int | None:
    from airflow.utils.helpers import ask_yesno

    from http_trigger.runs.trigger_calls import count_calls_before, delete_calls_before

    before = args.clean_before_timestamp
    total = count_calls_before(session=session, before=before)
    print(f"{total:,} trigger calls recorded before {before.isoformat()}", file=sys.stderr)
    if args.dry_run or not total:
        return None
    question = "Delete them? Their runs stay in Airflow, without their caller's address. [y/N]"
    to_stderr = functools.partial(print, file=sys.stderr)
    if not args.yes and not ask_yesno(question, default=False, output_fn=to_stderr):
        print("nothing deleted", file=sys.stderr)
        return 1
    deleted = 0
    for batch in delete_calls_before(session=session, before=before):
        deleted += batch
        print(f"deleted {deleted:,} of {total:,} ({deleted * 100 // max(total, deleted)}%)", file=sys.stderr)
    print(f"{deleted:,} trigger calls deleted", file=sys.stderr)
    return None


def _action_line(action: Record) -> Record:
    schema = action["parameters_schema"]
    required = set(schema.get("required", []))
    parameters = ", ".join(
        f"{name}{'*' if name in required else ''}" for name in schema.get("properties", {})
    )
    return {"name": action["name"], "title": action["title"], "parameters (* required)": parameters}


@suppress_logs_and_warning
@_command(uses_db=False)
def actions_list(args: argparse.Namespace) -> None:
    from http_trigger.actions import catalogue

    _print_records(catalogue(), args.output, one_line=_action_line)


@_command(uses_db=False)
def actions_iam_policy(args: argparse.Namespace) -> None:
    from http_trigger.actions.iam_policy import iam_policy

    print(json.dumps(iam_policy(args.action_types), indent=2))


@_command(uses_db=False)
def factory_write(args: argparse.Namespace) -> int | None:
    from airflow.configuration import conf

    from http_trigger.factory_files import write_factory_files

    folder = Path(args.folder or conf.get("core", "dags_folder"))
    try:
        written, removed = write_factory_files(folder, args.shards)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in removed:
        print(f"removed {path}")
    if len(written) == 1:
        print(f"{written[0]} builds every job's DAG")
    else:
        print(f"{len(written)} factory files in {folder} ({written[0].name} … {written[-1].name}) build the jobs'"
              f" DAGs: each job in the file of its id modulo {len(written)}")
    return None
