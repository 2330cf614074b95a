"""Read the ``[http_trigger]`` configuration section once, in one place.

Every option can be overridden as ``AIRFLOW__HTTP_TRIGGER__<OPTION>``, as any Airflow option. The
options and their defaults are declared once, in :data:`http_trigger.provider_info.OPTIONS`, which
Airflow also reads (``airflow config list`` shows them); the fallbacks here use the same defaults for
processes that have not loaded the providers' configuration.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from airflow.configuration import conf

from http_trigger.errors import SettingError
from http_trigger.provider_info import OPTIONS, SECTION

JOBS_FOLDER_NAME = "http_trigger_jobs"


def _default_int(option: str) -> int:
    return int(OPTIONS[option]["default"])


def _default_bool(option: str) -> bool:
    return OPTIONS[option]["default"] == "True"


def jobs_folder() -> Path:
    """Return the folder holding one YAML spec per job (default ``<dags_folder>/http_trigger_jobs``)."""
    default = Path(conf.get("core", "dags_folder")) / JOBS_FOLDER_NAME
    return Path(conf.get(SECTION, "jobs_folder", fallback=str(default))).expanduser()


def base_url() -> str:
    """Return the public address callers use to reach the API server, without a trailing slash."""
    configured = conf.get(SECTION, "base_url", fallback="") or conf.get("api", "base_url", fallback="")
    return (configured or "http://localhost:8080").rstrip("/")


def airflow_base_path() -> str:
    """Return the path Airflow is served under (``[api] base_url``'s path, e.g. ``/airflow``), or ``""``.

    The pages build every link from it, so they work behind a reverse proxy's path prefix.
    """
    return urlsplit(conf.get("api", "base_url", fallback="") or "/").path.rstrip("/")


def idempotency_ttl() -> timedelta:
    """Return how long an ``Idempotency-Key`` of a started run is remembered (default 24 hours)."""
    return timedelta(seconds=conf.getint(SECTION, "idempotency_ttl", fallback=_default_int("idempotency_ttl")))


def default_rate_limit() -> str | None:
    """Return the rate limit of jobs that set none (``<count>/<unit>``), or None for no limit."""
    return conf.get(SECTION, "default_rate_limit", fallback=OPTIONS["default_rate_limit"]["default"]) or None


def failed_token_limit() -> str | None:
    """Return how many failed trigger calls one address may make (``<count>/<unit>``), or None for any."""
    return conf.get(SECTION, "failed_token_limit", fallback=OPTIONS["failed_token_limit"]["default"]) or None


def retry_after_seconds() -> int:
    """Return the ``Retry-After`` value sent with a 503 from the trigger endpoint."""
    return conf.getint(SECTION, "retry_after_seconds", fallback=_default_int("retry_after_seconds"))


def trigger_concurrency() -> int:
    """Return how many trigger calls one API server process works on at once (at least 1)."""
    return max(1, conf.getint(SECTION, "trigger_concurrency", fallback=_default_int("trigger_concurrency")))


def trigger_queue_seconds() -> int:
    """Return how long a trigger call waits for a place before it answers 503."""
    return conf.getint(SECTION, "trigger_queue_seconds", fallback=_default_int("trigger_queue_seconds"))


def action_timeout_minutes() -> int:
    """Return the default execution timeout of an action task (provider waiters may wait forever)."""
    return conf.getint(SECTION, "action_timeout_minutes", fallback=_default_int("action_timeout_minutes"))


def deferrable_waits() -> bool:
    """Return whether actions wait for final states in the triggerer by default (default True)."""
    return conf.getboolean(SECTION, "deferrable_waits", fallback=_default_bool("deferrable_waits"))


def freeze_startup_heap() -> bool:
    """Return whether the API server's long-lived objects are left out of full collections (default True)."""
    return conf.getboolean(SECTION, "freeze_startup_heap", fallback=_default_bool("freeze_startup_heap"))


def group_roles() -> dict[str, list[str]]:
    """Return the Airflow roles given each job group, by group; empty when the option is unset.

    Read as it is parsed, on every DAG build, so a wrong value names itself in each job's build
    error instead of passing for "no roles".
    """
    raw = conf.get(SECTION, "group_roles", fallback=OPTIONS["group_roles"]["default"]) or ""
    if not raw.strip():
        return {}
    expected = 'a JSON object of group names to lists of role names, e.g. {"payments": ["Payments"]}'
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise SettingError(f"[{SECTION}] group_roles must be {expected}, not {raw!r}: {error}") from error
    if not isinstance(value, dict) or not all(
        isinstance(roles, list) and all(isinstance(role, str) and role for role in roles)
        for roles in value.values()
    ):
        raise SettingError(f"[{SECTION}] group_roles must be {expected}, not {raw!r}")
    return value


def dags_bundle_name() -> str:
    """Return the DAG bundle that holds the factory file (the default bundle of a plain Airflow install)."""
    return conf.get(SECTION, "dags_bundle_name", fallback=OPTIONS["dags_bundle_name"]["default"])


def factory_file() -> str:
    """Return the factory file's path relative to its bundle's root, until Airflow has parsed a job from it."""
    return conf.get(SECTION, "factory_file", fallback=OPTIONS["factory_file"]["default"])


def max_body_bytes() -> int:
    """Return the largest request body accepted, on the trigger and the JSON API alike (default 64 KiB)."""
    return conf.getint(SECTION, "max_body_bytes", fallback=_default_int("max_body_bytes"))


def mask_reference_key() -> bytes:
    """Return the key that makes a masked secret's reference meaningless to readers.

    Derived from ``[core] fernet_key``, which the plugin needs anyway, so that every API server and
    the CLI mask a value alike.
    """
    fernet_key = conf.get("core", "fernet_key", fallback="")
    return hashlib.sha256(b"http-trigger masked secret reference\0" + fernet_key.encode()).digest()
