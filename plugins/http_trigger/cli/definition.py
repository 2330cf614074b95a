"""The ``airflow http-trigger`` command group, as Airflow's providers declare theirs (provider info ``cli``).

Airflow imports this module whenever its CLI starts, so it declares commands only: each command's
code is imported when the command runs (:func:`~airflow.cli.cli_config.lazy_load_command`).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from airflow.cli.cli_config import (
    ARG_DB_CLEANUP_TIMESTAMP,
    ARG_DB_DRY_RUN,
    ARG_OUTPUT,
    ARG_VERBOSE,
    ARG_YES,
    ActionCommand,
    Arg,
    GroupCommand,
    lazy_load_command,
)

from http_trigger.cli import GROUP

_COMMANDS = "http_trigger.cli.commands"


def iso_moment(text: str) -> datetime:
    """Read an ISO 8601 date or time; one without a time zone is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        example = "e.g. 2026-01-31T09:00"
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or time, {example}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


ARG_JOB_ID = Arg(("job_id",), type=int, metavar="ID", help="The job's id")
ARG_SPEC_FILE = Arg(("-f", "--file"), required=True, help="A YAML job spec file (an id in it is kept)")
ARG_COPY_NAME = Arg(
    ("--name",), metavar="NAME", help="The copy's name (the original's followed by ' (copy)' if omitted)"
)
ARG_COPY_ENABLED = Arg(
    ("--enabled",), action="store_true", help="Start the copy enabled (it starts disabled otherwise)"
)
ARG_PARAMETERS = Arg(
    ("--parameters",), help="A JSON object of action parameters, for a job that takes them at execution"
)
ARG_SPEC_PATHS = Arg(("paths",), nargs="+", metavar="PATH", help="A job_<id>.yaml spec file or a jobs folder")
ARG_AUDIT_JOB = Arg(
    ("--job",), type=int, metavar="ID", help="Only this job's entries (every job's if omitted)"
)
ARG_AUDIT_SINCE = Arg(
    ("--since",),
    type=iso_moment,
    metavar="ISO",
    help="Only entries since then, e.g. 2026-01-31 (UTC unless a zone is given)",
)
ARG_AUDIT_FILE = Arg(
    ("file",), nargs="?", metavar="FILE", help="Where to write the CSV (standard output if omitted)"
)
ARG_DAGS_FOLDER = Arg(
    ("folder",), nargs="?", metavar="FOLDER", help="The folder Airflow parses ([core] dags_folder if omitted)"
)
ARG_SHARDS = Arg(
    ("--shards",),
    type=int,
    default=1,
    metavar="N",
    help="How many files to split the jobs across, 1 to 256 (default 1; about one per 100 jobs)",
)
ARG_DEFINITION_NAME = Arg(("name",), metavar="NAME", help="The post-processing definition's name, e.g. team-slack")
ARG_DEFINITION_FILE = Arg(
    ("-f", "--file"),
    required=True,
    help="A YAML post-processing definition file: name, type, retries and parameters, as an inline step",
)
ARG_ACTION_TYPES = Arg(
    ("action_types",), nargs="*", metavar="ACTION", help="Action types (every action if omitted)"
)


def _command(name: str, help_text: str, *args: Arg) -> ActionCommand:
    function = name.replace("-", "_")
    return ActionCommand(
        name=name.split("_")[-1], help=help_text, func=lazy_load_command(f"{_COMMANDS}.{function}"), args=args
    )


def get_http_trigger_cli_commands() -> list[GroupCommand]:
    """Return the ``http-trigger`` group: ``jobs``, ``post-processing``, ``actions``, ``audit``, ``calls``
    and ``factory``."""
    jobs = (
        _command("jobs_list", "List the jobs", ARG_OUTPUT, ARG_VERBOSE),
        _command(
            "jobs_show",
            "Show a job, its trigger URL, token and other secrets masked",
            ARG_JOB_ID,
            ARG_OUTPUT,
            ARG_VERBOSE,
        ),
        _command(
            "jobs_reveal",
            "Show a job's URL, token, curl line and secrets (recorded in its audit)",
            ARG_JOB_ID,
            ARG_OUTPUT,
            ARG_VERBOSE,
        ),
        _command("jobs_create", "Create a job from a YAML spec file", ARG_SPEC_FILE, ARG_OUTPUT, ARG_VERBOSE),
        _command(
            "jobs_update",
            "Replace a job's definition from a YAML spec file (masked secrets stay)",
            ARG_JOB_ID,
            ARG_SPEC_FILE,
            ARG_OUTPUT,
            ARG_VERBOSE,
        ),
        _command(
            "jobs_duplicate",
            "Create a new job with a job's definition and a new URL and token (disabled unless --enabled)",
            ARG_JOB_ID,
            ARG_COPY_NAME,
            ARG_COPY_ENABLED,
            ARG_OUTPUT,
            ARG_VERBOSE,
        ),
        _command(
            "jobs_trigger", "Start a run of the job now", ARG_JOB_ID, ARG_PARAMETERS, ARG_OUTPUT, ARG_VERBOSE
        ),
        _command(
            "jobs_delete", "Delete a job and revoke its URL and token", ARG_JOB_ID, ARG_OUTPUT, ARG_VERBOSE
        ),
        _command(
            "jobs_rotate",
            "Issue a new URL and token; the old ones stop working",
            ARG_JOB_ID,
            ARG_OUTPUT,
            ARG_VERBOSE,
        ),
        _command(
            "jobs_check",
            "Check spec files or folders as the DAG factory will (exit 1 on problems; no database)",
            ARG_SPEC_PATHS,
            ARG_OUTPUT,
            ARG_VERBOSE,
        ),
    )
    post_processing = (
        _command("post-processing_list", "List the shared post-processing definitions", ARG_OUTPUT, ARG_VERBOSE),
        _command(
            "post-processing_show",
            "Show a post-processing definition, its secrets masked, and the jobs using it",
            ARG_DEFINITION_NAME,
            ARG_OUTPUT,
            ARG_VERBOSE,
        ),
        _command(
            "post-processing_create",
            "Create a post-processing definition from a YAML file",
            ARG_DEFINITION_FILE,
            ARG_OUTPUT,
            ARG_VERBOSE,
        ),
        _command(
            "post-processing_update",
            "Replace a post-processing definition from a YAML file (masked secrets stay); its jobs use it next run",
            ARG_DEFINITION_NAME,
            ARG_DEFINITION_FILE,
            ARG_OUTPUT,
            ARG_VERBOSE,
        ),
        _command(
            "post-processing_delete",
            "Delete a post-processing definition no job uses",
            ARG_DEFINITION_NAME,
            ARG_OUTPUT,
            ARG_VERBOSE,
        ),
    )
    actions = (
        _command(
            "actions_list",
            "List the actions with their parameters (JSON schemas with -o json)",
            ARG_OUTPUT,
            ARG_VERBOSE,
        ),
        _command(
            "actions_iam-policy", "Print the least-privilege IAM policy the actions need", ARG_ACTION_TYPES
        ),
    )
    audit = (
        _command(
            "audit_export",
            "Write who changed, ran or revealed jobs, when, from where and how, as CSV",
            ARG_AUDIT_JOB,
            ARG_AUDIT_SINCE,
            ARG_AUDIT_FILE,
        ),
    )
    calls = (
        _command(
            "calls_clean",
            "Delete the record of trigger calls made before a date, as `airflow db clean` does for runs",
            ARG_DB_CLEANUP_TIMESTAMP,
            ARG_DB_DRY_RUN,
            ARG_YES,
        ),
    )
    factory = (
        _command(
            "factory_write",
            "Write the DAG factory files that build the jobs' DAGs (and remove those of another split)",
            ARG_DAGS_FOLDER,
            ARG_SHARDS,
        ),
    )
    return [
        GroupCommand(
            name=GROUP,
            help="Manage http-trigger's operation jobs",
            subcommands=(
                GroupCommand(name="jobs", help="Manage operation jobs", subcommands=jobs),
                GroupCommand(
                    name="post-processing",
                    help="Manage the post-processing definitions jobs share",
                    subcommands=post_processing,
                ),
                GroupCommand(name="actions", help="Show the actions a job can run", subcommands=actions),
                GroupCommand(name="audit", help="Read the audit of job changes", subcommands=audit),
                GroupCommand(
                    name="calls", help="Keep the record of trigger calls in bounds", subcommands=calls
                ),
                GroupCommand(name="factory", help="Place the DAG factory in a deployment", subcommands=factory),
            ),
        )
    ]
