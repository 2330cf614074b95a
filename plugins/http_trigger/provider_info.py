"""Describe http-trigger to Airflow as a provider: its plugin, its DB manager and its configuration.

Airflow's ``ProvidersManager`` reads this through the package's ``apache_airflow_provider`` entry
point. That is what makes the package install like any provider, with no hand edits of
``airflow.cfg``: ``airflow db migrate`` finds the plugin's tables through ``db-managers``, and the
``[http_trigger]`` section with its defaults appears in ``airflow config list``, and ``airflow
http-trigger`` is one of Airflow's command groups (``cli``). The plugin is listed
here for ``airflow providers plugins``; Airflow loads it through the ``airflow.plugins`` entry point
(it loads providers' plugins only with ``[core] lazy_load_providers = False``, and then skips the
second registration of the same name with a warning).

The module imports nothing from Airflow: the providers manager loads it in every Airflow process.
:data:`OPTIONS` is the one declaration of each option, read by :mod:`http_trigger.settings`.
"""

from __future__ import annotations

from typing import Any

from http_trigger import __version__

PACKAGE_NAME = "http-trigger"
SECTION = "http_trigger"
DB_MANAGER = "http_trigger.db.manager.HttpTriggerDBManager"
PLUGIN_CLASS = "http_trigger.plugin.HttpTriggerPlugin"
CLI_COMMANDS = "http_trigger.cli.definition.get_http_trigger_cli_commands"

# Each option as Airflow's provider schema describes one; ``default`` None means "computed" (see
# the description), which Airflow shows as an empty value.
OPTIONS: dict[str, dict[str, Any]] = {
    "jobs_folder": {
        "description": "Folder of the job spec files, one YAML file per job. Every DAG processor and API "
        "server must see the same folder. Empty: ``<[core] dags_folder>/http_trigger_jobs``.",
        "type": "string",
        "example": "/opt/airflow/dags/http_trigger_jobs",
        "default": None,
    },
    "base_url": {
        "description": "Public address shown in trigger URLs and notification links. "
        "Empty: ``[api] base_url``, else ``http://localhost:8080``.",
        "type": "string",
        "example": "https://airflow.example.com",
        "default": None,
    },
    "max_body_bytes": {
        "description": "Largest request body accepted, on the trigger and the JSON API alike; larger bodies "
        "answer 413.",
        "type": "integer",
        "example": "65536",
        "default": "65536",
    },
    "retry_after_seconds": {
        "description": "Seconds in the ``Retry-After`` header of a 503 answer (job not loaded yet, "
        "database unavailable).",
        "type": "integer",
        "example": "5",
        "default": "5",
    },
    "trigger_concurrency": {
        "description": "Trigger calls each API server process works on at once; more wait for a place. "
        "A call holds a database connection while it works, so keep this within ``[database] "
        "sql_alchemy_pool_size`` plus ``sql_alchemy_max_overflow`` (Airflow's defaults: 5 + 10).",
        "type": "integer",
        "example": "8",
        "default": "8",
    },
    "trigger_queue_seconds": {
        "description": "Seconds a trigger call waits for a place before it answers 503 with ``Retry-After`` "
        "(and starts nothing), so a burst beyond what the server can do gets a quick answer, not a hung "
        "connection.",
        "type": "integer",
        "example": "10",
        "default": "10",
    },
    "idempotency_ttl": {
        "description": "Seconds an ``Idempotency-Key`` sent with a trigger call is remembered: a retry "
        "with the same key and parameters within that time gets the first run back instead of a new one.",
        "type": "integer",
        "example": "3600",
        "default": "86400",
    },
    "default_rate_limit": {
        "description": "Rate limit of jobs that set none, as ``<count>/<second|minute|hour>`` (e.g. "
        "``60/minute``): more runs started by a job's trigger in that time answer 429. Empty: no limit.",
        "type": "string",
        "example": "60/minute",
        "default": "",
    },
    "failed_token_limit": {
        "description": "Calls with an unknown URL or a wrong token accepted from one address, as "
        "``<count>/<second|minute|hour>``; beyond it, that address gets 429 until the window has passed, "
        "so guessing tokens is slowed. Empty: no throttle.",
        "type": "string",
        "example": "60/minute",
        "default": "120/minute",
    },
    "action_timeout_minutes": {
        "description": "Execution timeout of an action task; the provider's waiters can otherwise wait "
        "forever.",
        "type": "integer",
        "example": "60",
        "default": "60",
    },
    "freeze_startup_heap": {
        "description": "Whether each API server process leaves its long-lived objects out of Python's full "
        "garbage collections (``gc.freeze()``, as Airflow's DAG processor does): once it has started, and "
        "again, three times at most, when a full collection finds 100,000 objects or more have lived "
        "through it, as they do once its first calls have built what they build lazily. Under a steady "
        "stream of calls those collections otherwise walk about a million objects every half minute and "
        "hold every request of the process for a quarter to half a second.",
        "type": "boolean",
        "example": "False",
        "default": "True",
    },
    "deferrable_waits": {
        "description": "Whether an action's wait for a final state (instances running, a snapshot "
        "available, ECS tasks stopped…) runs in Airflow's triggerer instead of holding a worker slot; "
        "an action argument ``deferrable`` overrides it. Needs a running ``airflow triggerer``.",
        "type": "boolean",
        "example": "False",
        "default": "True",
    },
    "group_roles": {
        "description": "Airflow roles given each job group, as a JSON object of group names to lists of "
        "role names. With the FAB auth manager, every listed role may read, edit, delete and run the "
        "group's jobs (Airflow's DAG-level ``access_control`` on each job's DAG); each role must exist "
        "before the jobs are parsed. Once set, the plugin owns the DAG-level permissions of the jobs' "
        "DAGs: groups not listed get none. Empty: DAG-level permissions are left alone. Other auth "
        "managers ignore it.",
        "type": "string",
        "example": '{"payments": ["Payments"], "platform": ["Platform", "On-call"]}',
        "default": "",
    },
    "dags_bundle_name": {
        "description": "DAG bundle holding the DAG factory file, for the re-parse request sent after each "
        "job change.",
        "type": "string",
        "example": "dags-folder",
        "default": "dags-folder",
    },
    "factory_file": {
        "description": "Path of the DAG factory file relative to the root of its DAG bundle, or of any "
        "file of the set when the jobs are split across several (``airflow http-trigger factory write "
        "--shards N``). Only the first job's re-parse request needs it: afterwards Airflow's record of "
        "where it found the jobs' DAGs says where the files are.",
        "type": "string",
        "example": "platform/http_trigger_jobs.py",
        "default": "http_trigger_jobs.py",
    },
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider information Airflow validates against its ``provider_info`` schema."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "HTTP Trigger",
        "description": "Start AWS operation jobs with one authenticated HTTP POST.",
        "versions": [__version__],
        "plugins": [{"name": "http_trigger", "plugin-class": PLUGIN_CLASS}],
        "db-managers": [DB_MANAGER],
        "cli": [CLI_COMMANDS],
        "config": {
            SECTION: {
                "description": "Operation jobs started by an HTTP trigger: where their specs live, how "
                "callers reach them, and the limits of the trigger endpoint.",
                "options": {name: {**option, "version_added": "0.1.0"} for name, option in OPTIONS.items()},
            }
        },
    }
