"""``http-trigger``: manage jobs from a shell, against the Airflow install of ``AIRFLOW_HOME``.

Like the ``airflow`` CLI, it works on the metadata DB and the jobs folder directly, through the
same service functions as the JSON API, so every rule lives in one place. It shows jobs as the API
does (:func:`http_trigger.job_view.job_view`): secrets masked, but the URL and token a create or a
rotation just issued; ``jobs reveal`` prints them all. Every change, run and reveal is recorded
in the job's audit (:mod:`http_trigger.job_audit`, Airflow's audit log) under the shell's user name
and the ``cli`` channel, as Airflow's own CLI records its commands; ``audit export`` writes that
audit as CSV. ``jobs check`` needs neither: it runs the DAG factory's own load-validate-build on
spec files, so CI can gate on it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from http_trigger.errors import HttpTriggerError, JobSpecError

# Where results go. The console script points it at the real standard output and sends everything
# else written there (Airflow's logs and warnings) to standard error, so `--json` output parses.
_results: TextIO | None = None


def _emit(text: str) -> None:
    print(text, file=_results or sys.stdout)


def _actor() -> Any:
    """Return who runs the CLI, for the audit: the shell's user, from no network address."""
    from http_trigger.job_audit import Actor, Channel

    return Actor(user_name=getpass.getuser(), channel=Channel.CLI)


def _details_dict(details: Any, *, issued: bool = False) -> dict[str, Any]:
    from http_trigger.job_view import job_view

    # Whoever runs the CLI works on the database directly: an editor of every job.
    return job_view(details, may_edit=True, issued=issued)


def _broken_dict(job_id: int, error: JobSpecError) -> dict[str, Any]:
    return {
        "id": job_id,
        "spec_error": {
            "file": error.source,
            "message": str(error),
            "problems": [{"field": field, "reason": reason} for field, reason in error.problems],
        },
    }


def _print_details(details: Any, as_json: bool, *, issued: bool = False) -> None:
    data = _details_dict(details, issued=issued)
    if as_json:
        _emit(json.dumps(data, indent=2))
        return
    state = {None: "not loaded yet", True: "disabled", False: "enabled"}[details.is_paused]
    _emit(f"Job {data['id']}: {data['name']} ({data['action']['type']}, {state})")
    _emit(f"  DAG:         {data['dag_id']}")
    _emit(f"  Trigger URL: {data['trigger_url']}")
    _emit(f"  Token:       {data['token']}")
    if data["curl"]:
        _emit(f"  curl:        {data['curl']}")
    if data["masked_fields"]:
        _emit(f"  Masked:      {', '.join(data['masked_fields'])}")
        _emit(f"               (http-trigger jobs reveal {data['id']} shows them)")


def _jobs_list(args: argparse.Namespace, session: Any) -> None:
    from http_trigger import jobs_service

    page = jobs_service.find_jobs(session=session)
    jobs, broken = page.jobs, page.broken_jobs
    if args.json:
        listing = {
            "jobs": [_details_dict(d) for d in jobs],
            "broken_jobs": [
                _broken_dict(spec.job_id, spec.error) for spec in broken if spec.job_id is not None
            ],
            "spec_errors": page.spec_errors,
        }
        _emit(json.dumps(listing, indent=2))
        return
    _emit(f"{'ID':>5}  {'NAME':<40} {'GROUP':<15} {'ACTION':<24} ENABLED")
    for details in jobs:
        job = details.job
        enabled = "-" if details.is_paused is None else ("no" if details.is_paused else "yes")
        _emit(f"{job.id:>5}  {job.name[:40]:<40} {job.group[:15]:<15} {job.action.type:<24} {enabled}")
    for spec in broken:
        _emit(f"{spec.job_id:>5}  {'(spec invalid: cannot run)':<40} {'-':<15} {'-':<24} -")
    for message in page.spec_errors:
        print(f"error: {message}", file=sys.stderr)


def _jobs_show(args: argparse.Namespace, session: Any) -> None:
    from http_trigger import jobs_service
    from http_trigger.errors import JobBrokenError

    try:
        details = jobs_service.get_job_details(session=session, job_id=args.job_id)
    except JobBrokenError as error:
        if args.json:
            _emit(json.dumps(_broken_dict(args.job_id, error.spec_error), indent=2))
        else:
            _emit(f"Job {args.job_id}: cannot run, its spec is invalid; fix the file")
            for field, reason in error.spec_error.problems:
                _emit(f"  {error.spec_error.source}: {field}: {reason}")
        return
    _print_details(details, args.json)


def _read_spec_file(path: str) -> tuple[int | None, Any]:
    """Return the id a spec file may carry and its validated body."""
    from http_trigger.job_files import load_spec_mapping, read_spec_content, validate_spec
    from http_trigger.job_model import JobBody

    data = load_spec_mapping(read_spec_content(Path(path), source=path), source=path)
    job_id = data.pop("id", None)
    return job_id, validate_spec(data, source=path, model=JobBody)


def _jobs_create(args: argparse.Namespace, session: Any) -> None:
    from http_trigger import jobs_service

    job_id, body = _read_spec_file(args.file)
    created = jobs_service.create_job(session=session, body=body, actor=_actor(), job_id=job_id)
    _print_details(created, args.json, issued=True)


def _jobs_update(args: argparse.Namespace, session: Any) -> None:
    from http_trigger import jobs_service

    job_id, body = _read_spec_file(args.file)
    if job_id not in (None, args.job_id):
        raise JobSpecError(args.file, ("id", f"{job_id} is not the job being updated ({args.job_id})"))
    updated = jobs_service.update_job(session=session, job_id=args.job_id, body=body, actor=_actor())
    _print_details(updated, args.json)


def _jobs_trigger(args: argparse.Namespace, session: Any) -> None:
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
    job, run_id = started.job, started.run_id
    answer = {"result": "ok", "trigger_job_id": job.id, "dag_id": job.dag_id, "dag_run_id": run_id}
    _emit(json.dumps(answer) if args.json else f"Started job {job.id}: run {run_id}")


def _jobs_delete(args: argparse.Namespace, session: Any) -> None:
    from http_trigger import jobs_service

    jobs_service.delete_job(session=session, job_id=args.job_id, actor=_actor())
    _emit(json.dumps({"deleted": args.job_id}) if args.json else f"Deleted job {args.job_id}")


def _jobs_rotate(args: argparse.Namespace, session: Any) -> None:
    from http_trigger import jobs_service

    rotated = jobs_service.rotate_secret(session=session, job_id=args.job_id, actor=_actor())
    _print_details(rotated, args.json, issued=True)


def _jobs_reveal(args: argparse.Namespace, session: Any) -> None:
    from http_trigger import jobs_service
    from http_trigger.job_view import reveal_secrets

    details = jobs_service.get_job_details(session=session, job_id=args.job_id)
    revealed = reveal_secrets(session=session, details=details, actor=_actor())
    if args.json:
        _emit(json.dumps(revealed.as_json(), indent=2))
        return
    _emit(f"Job {revealed.job_id} (this reveal is recorded in the job's audit, Airflow's audit log)")
    _emit(f"  Trigger URL: {revealed.trigger_url}")
    _emit(f"  Token:       {revealed.token}")
    _emit(f"  curl:        {revealed.curl}")
    for secret in revealed.fields:
        _emit(f"  {secret.field}: {secret.value}")


def _jobs_check(args: argparse.Namespace, session: Any) -> int:
    """Load, validate and build spec files as the DAG factory does; 1 when any has a problem."""
    from http_trigger.dag_builder import build_specs
    from http_trigger.job_files import spec_candidates
    from http_trigger.spec_yaml import WHOLE_FILE

    paths: list[Path] = []
    problems: list[dict[str, Any]] = []
    for argument in args.paths:
        path = Path(argument)
        if path.is_dir():
            paths.extend(spec_candidates(path))
        elif path.exists():
            paths.append(path)
        else:
            problems.append({"file": argument, "job_id": None, "field": WHOLE_FILE, "reason": "no such file"})
    built = build_specs(paths)
    problems += [
        {"file": str(spec.path), "job_id": spec.job_id, "field": field, "reason": reason}
        for spec in built.broken
        for field, reason in spec.error.problems
    ]
    if args.json:
        _emit(json.dumps(problems, indent=2))
    else:
        for problem in problems:
            _emit(f"{problem['file']}: {problem['field']}: {problem['reason']}")
        files = len({problem["file"] for problem in problems})
        summary = f"problems in {files} files" if problems else "no problem"
        print(f"{len(paths)} spec files checked: {summary}", file=sys.stderr)
    return 1 if problems else 0


def _since(text: str) -> datetime:
    """Read an ISO 8601 date or time; one without a time zone is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        example = "e.g. 2026-01-31T09:00"
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or time, {example}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _audit_export(args: argparse.Namespace, session: Any) -> None:
    from http_trigger import jobs_service
    from http_trigger.errors import JobNotFoundError
    from http_trigger.job_audit import job_audit_entries, write_csv

    if args.job is not None and not jobs_service.job_known(session=session, job_id=args.job):
        raise JobNotFoundError(args.job)
    entries, _ = job_audit_entries(session=session, job_id=args.job, since=args.since)
    if args.output is None:
        write_csv(entries, _results or sys.stdout)
        return
    with open(args.output, "w", newline="", encoding="utf-8") as out:
        write_csv(entries, out)
    print(f"{len(entries)} audit entries written to {args.output}", file=sys.stderr)


def _actions_list(args: argparse.Namespace, session: Any) -> None:
    from http_trigger.actions import catalogue

    actions = catalogue()
    if args.json:
        _emit(json.dumps({"actions": actions}, indent=2))
        return
    for action in actions:
        schema = action["parameters_schema"]
        required = set(schema.get("required", []))
        fields = ", ".join(
            f"{name}{'*' if name in required else ''}" for name in schema.get("properties", {})
        )
        _emit(f"{action['name']:<36} {action['title']}")
        _emit(f"    {action['description']}")
        _emit(f"    parameters (* required): {fields}")


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser: ``http-trigger jobs <command>``, ``audit export``, ``actions list``."""
    parser = argparse.ArgumentParser(prog="http-trigger", description=__doc__.splitlines()[0])
    groups = parser.add_subparsers(dest="group", required=True)
    jobs = groups.add_parser("jobs", help="manage operation jobs").add_subparsers(dest="command", required=True)

    def command(name: str, handler: Any, help_text: str, *, with_id: bool = False) -> argparse.ArgumentParser:
        sub = jobs.add_parser(name, help=help_text)
        if with_id:
            sub.add_argument("job_id", type=int, metavar="ID")
        sub.add_argument("--json", action="store_true", help="print JSON")
        sub.set_defaults(handler=handler)
        return sub

    command("list", _jobs_list, "list jobs")
    command("show", _jobs_show, "show a job, its trigger URL, token and other secrets masked", with_id=True)
    command("reveal", _jobs_reveal, "print a job's URL, token, curl and secrets (audit-logged)", with_id=True)
    command("create", _jobs_create, "create a job from a YAML spec file").add_argument(
        "-f", "--file", required=True, help="YAML job spec (an id in it is kept)"
    )
    command("update", _jobs_update, "replace a job's definition from a YAML spec file", with_id=True).add_argument(
        "-f", "--file", required=True, help="YAML job spec; its URL and token, and secrets left masked, stay"
    )
    command("trigger", _jobs_trigger, "start a run of the job now, from the CLI", with_id=True).add_argument(
        "--parameters", help="JSON object of action parameters, for jobs that take them at execution"
    )
    command("delete", _jobs_delete, "delete a job and revoke its URL and token", with_id=True)
    command("rotate", _jobs_rotate, "issue a new URL and token; the old ones stop working", with_id=True)
    check = command("check", _jobs_check, "check spec files or folders as the DAG factory will (1: problems)")
    check.add_argument("paths", nargs="+", metavar="PATH", help="a job_<id>.yaml spec file or a jobs folder")
    # The checks read files only, like the DAG factory: CI can run them with no Airflow database.
    check.set_defaults(uses_db=False)

    audit = groups.add_parser("audit", help="read the audit of job changes").add_subparsers(
        dest="command", required=True
    )
    export = audit.add_parser(
        "export", help="write who changed, ran or revealed jobs, when, from where and how, as CSV"
    )
    export.add_argument("--job", type=int, metavar="ID", help="only this job's entries (all jobs if omitted)")
    export.add_argument(
        "--since", type=_since, metavar="ISO", help="only entries since then, e.g. 2026-01-31 (UTC unless given)"
    )
    export.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    export.set_defaults(handler=_audit_export)

    actions = groups.add_parser("actions", help="show the actions a job can run").add_subparsers(
        dest="command", required=True
    )
    listing = actions.add_parser(
        "list", help="list the actions with their parameters (their JSON schemas with --json)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    # The catalogue is code, not data: no metadata DB needed.
    listing.set_defaults(handler=_actions_list, uses_db=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; domain errors print one line and exit with status 1."""
    args = build_parser().parse_args(argv)
    if not getattr(args, "uses_db", True):
        return args.handler(args, None) or 0
    from airflow.utils.session import create_session

    try:
        with create_session() as session:
            args.handler(args, session)
    except HttpTriggerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def console_main() -> None:
    """Entry point of the ``http-trigger`` command."""
    global _results
    _results = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        code = main()
    finally:
        _results.flush()
    sys.exit(code)


if __name__ == "__main__":
    console_main()
