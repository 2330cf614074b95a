"""The command line: ``airflow http-trigger …``, one of Airflow's command groups, and ``http-trigger …``.

The provider info names :func:`http_trigger.cli.definition.get_http_trigger_cli_commands`, so
Airflow's own CLI carries the group with its parser, help and ``-o table|json|yaml|plain`` output.
The ``http-trigger`` command is an alias of ``airflow http-trigger``: the same parser, the same
commands (:mod:`http_trigger.cli.commands`).
"""

from __future__ import annotations

import sys

GROUP = "http-trigger"


def main(argv: list[str] | None = None) -> int:
    """Run ``airflow http-trigger`` with ``argv``; return the exit status a command ends with."""
    from airflow.cli import cli_parser

    args = cli_parser.get_parser().parse_args([GROUP, *(sys.argv[1:] if argv is None else argv)])
    try:
        args.func(args)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 1
    return 0


def console_main() -> None:
    """Entry point of the ``http-trigger`` command."""
    sys.exit(main())
