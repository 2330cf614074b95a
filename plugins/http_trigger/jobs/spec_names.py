"""The names a job goes by: its spec file's, ``job_<id>.yaml`` (one spelling per id, in one jobs
folder), and its DAG's, ``http_trigger_job_<id>``.

Kept apart from reading and validating specs (:mod:`http_trigger.jobs.files`) because a DAG factory
file asks only which specs exist, and which job a DAG id names, and must not pay the job model's
imports to learn that a shard of the jobs is empty (see :mod:`http_trigger.factory_files`).
"""

from __future__ import annotations

import re
from pathlib import Path

SPEC_PREFIX = "job_"
DAG_ID_PREFIX = "http_trigger_job_"
SPEC_SUFFIX = ".yaml"
# The largest id the metadata DB's integer columns hold; it also keeps the DAG id (the prefix and
# at most ten digits) far below Airflow's 250 characters, in the characters Airflow allows.
MAX_JOB_ID = 2**31 - 1
# The one spelling of a job's file name, so that one id never has two files ("job_07.yaml").
_SPEC_NAME = re.compile(rf"{SPEC_PREFIX}([1-9][0-9]{{0,9}}){re.escape(SPEC_SUFFIX)}")
# Files of these suffixes in the jobs folder are meant as specs, so a wrong name is reported.
_YAML_SUFFIXES = (".yaml", ".yml")


def spec_path(folder: Path, job_id: int) -> Path:
    """Return where the spec of ``job_id`` lives."""
    return folder / f"{SPEC_PREFIX}{job_id}{SPEC_SUFFIX}"


def job_id_of(path: Path) -> int | None:
    """Return the job id a spec file's name gives (``job_7.yaml``: 7), or None for any other name."""
    match = _SPEC_NAME.fullmatch(path.name)
    job_id = int(match.group(1)) if match else None
    return job_id if job_id is not None and job_id <= MAX_JOB_ID else None


def spec_candidates(folder: Path) -> list[Path]:
    """Return the files of ``folder`` meant as specs (``*.yaml``, ``*.yml``), in id order; none if no folder.

    Hidden files are left out: they are the temporary files of atomic writes (and editors').
    """
    if not folder.is_dir():
        return []
    paths = [p for p in folder.iterdir() if p.suffix in _YAML_SUFFIXES and not p.name.startswith(".")]
    return sorted(paths, key=lambda p: (job_id_of(p) or MAX_JOB_ID + 1, p.name))


def dag_id_for(job_id: int) -> str:
    """Name a job's DAG by the job id, so renaming a job never orphans its history."""
    return f"{DAG_ID_PREFIX}{job_id}"


def job_id_from_dag_id(dag_id: str) -> int | None:
    """Return the job id encoded in a job DAG's id, or None for any other DAG."""
    if not dag_id.startswith(DAG_ID_PREFIX):
        return None
    suffix = dag_id.removeprefix(DAG_ID_PREFIX)
    return int(suffix) if suffix.isdigit() else None
