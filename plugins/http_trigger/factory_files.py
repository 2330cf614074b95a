"""The DAG factory files of a deployment, and which of them builds which job's DAG.

Airflow parses DAG files one at a time and, after each parse, writes every DAG the file made to its
database. With every job in one factory file, each job change re-parses and rewrites all the jobs:
at 1,000 jobs a new job waits about 20 s before its trigger answers (``BENCHMARKS.md``). So the
jobs may be split across ``N`` factory files, the *shards*: file ``k`` of ``N`` builds the jobs
whose id leaves ``k`` when divided by ``N`` (spec files whose name gives no id go to file 0, which
reports them), and a job change re-parses the one file holding about ``1/N`` of the jobs.

Each file is a stub of a few lines, written by :func:`write_factory_files` (``airflow http-trigger
factory write``). Its name says which share it builds (``http_trigger_jobs_03_of_16.py``), so the
API server, which asks Airflow to re-parse a job's file after each change, finds the file of any
job, new ones included, from where Airflow parsed the others. One file (``http_trigger_jobs.py``)
is the one-shard case. Airflow re-parses every file every ``[dag_processor]
min_file_process_interval``, each in a process of its own, so each file keeps that process's work
small: the providers' heaviest modules are imported once by the DAG processor itself
(:data:`PRE_IMPORTED`), and a file whose share holds no job returns before importing the DAG builder.

A worker parses the file too, to run each task of a job's DAG. It names that DAG in Airflow's
parsing context (:func:`airflow.sdk.get_parsing_context`, the way Airflow documents for files that
generate DAGs), and the file then builds that job's DAG alone: a task starts as quickly among
1,000 jobs as among ten.

Nothing here may import the DAG builder or the job model: this module runs first in every parse.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from airflow.sdk import get_parsing_context

from http_trigger import settings
from http_trigger.jobs.spec_names import job_id_from_dag_id, job_id_of, spec_candidates, spec_path

SINGLE_FILE_NAME = "http_trigger_jobs.py"
# The providers' modules the DAG builder imports that cost the most to import. A factory file names
# them at its top: Airflow's DAG processor imports a DAG file's top-level ``airflow`` imports once,
# itself, before it starts the process that parses the file (``[dag_processor]
# parsing_pre_import_modules``), so each parse inherits them instead of importing them again (about
# 0.35 s of the 0.47 s the DAG builder's imports cost a parsing process on two cores).
PRE_IMPORTED = (
    "airflow.providers.amazon.aws.hooks.base_aws",
    "airflow.providers.amazon.aws.hooks.ecs",
    "airflow.providers.amazon.aws.hooks.rds",
    "airflow.providers.amazon.aws.operators.base_aws",
    "airflow.providers.amazon.aws.triggers.base",
    "airflow.providers.http.hooks.http",
    "airflow.providers.slack.hooks.slack_webhook",
    "airflow.providers.smtp.hooks.smtp",
)
# Beyond this the per-file cost of a parse (a process, the imports) outweighs what a smaller share saves.
MAX_SHARDS = 256
_SHARD_FILE_NAME = re.compile(r"http_trigger_jobs_([0-9]{2,3})_of_([0-9]{2,3})\.py")


@dataclass(frozen=True)
class Shard:
    """File ``index`` of ``count`` factory files: the jobs whose id modulo ``count`` is ``index``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARDS or not 0 <= self.index < self.count:
            raise ValueError(f"a factory file is one of 1 to {MAX_SHARDS} files: not {self.index} of {self.count}")

    @property
    def file_name(self) -> str:
        if self.count == 1:
            return SINGLE_FILE_NAME
        return f"http_trigger_jobs_{self.index:02d}_of_{self.count:02d}.py"

    def holds(self, job_id: int | None) -> bool:
        """Whether this file builds the job (None: a spec file whose name gives no job, reported by file 0)."""
        return (job_id or 0) % self.count == self.index

    def spec_files(self, folder: Path) -> list[Path]:
        """The spec files of the jobs folder that this file builds: while a task of one DAG runs, that
        DAG's job's file only (none when the DAG is no job's, or another file's)."""
        dag_id = get_parsing_context().dag_id
        if dag_id is None:
            return [path for path in spec_candidates(folder) if self.holds(job_id_of(path))]
        job_id = job_id_from_dag_id(dag_id)
        if job_id is None or not self.holds(job_id):
            return []
        path = spec_path(folder, job_id)
        return [path] if path.is_file() else []

    def has_jobs(self) -> bool:
        """Whether the configured jobs folder holds a spec file of this share (or cannot be read: the
        DAG builder then says why in the DAG processor's log)."""
        try:
            return bool(self.spec_files(settings.jobs_folder()))
        except Exception:
            return True

    def source(self) -> str:
        """The factory file's whole content (Airflow parses only files naming both "airflow" and "dag")."""
        share = (
            "every job's DAG"
            if self.count == 1
            else f"the DAGs of the jobs whose id leaves {self.index} when divided by {self.count}"
        )
        return (
            f'"""Airflow DAG factory of http-trigger: {share}.\n\n'
            '`airflow http-trigger factory write` writes this file; see http_trigger.factory_files.\n"""\n\n'
            "# Imported once by the DAG processor for all its parses (see PRE_IMPORTED).\n"
            + "".join(f"import {module}  # noqa: F401\n" for module in PRE_IMPORTED)
            + "\nfrom http_trigger.factory_files import Shard\n\n"
            f"SHARD = Shard(index={self.index}, count={self.count})\n"
            "if SHARD.has_jobs():\n"
            "    from http_trigger.dag_builder import build_dags\n\n"
            "    globals().update(build_dags(shard=SHARD))\n"
        )


def shard_of_file(name: str) -> Shard | None:
    """Return the share a factory file's name gives, or None when the name is no factory file's."""
    if name == SINGLE_FILE_NAME:
        return Shard(0, 1)
    match = _SHARD_FILE_NAME.fullmatch(name)
    if match is None:
        return None
    index, count = int(match.group(1)), int(match.group(2))
    return Shard(index, count) if 0 <= index < count <= MAX_SHARDS else None


def factory_file_of_job(job_id: int, factory_file: str) -> str:
    """Return the path of the factory file building ``job_id``, beside ``factory_file`` (one of the set).

    ``factory_file`` is any file of the deployment's set, as Airflow recorded it for another job
    (a relative path in its bundle): the set's size is in its name. Any other name is returned as it is.
    """
    path = PurePosixPath(factory_file)
    shard = shard_of_file(path.name)
    if shard is None:
        return factory_file
    return str(path.with_name(Shard(job_id % shard.count, shard.count).file_name))


def write_factory_files(folder: Path, count: int) -> tuple[list[Path], list[Path]]:
    """Write the ``count`` factory files into a DAGs folder; remove the factory files of any other count.

    Returns the files written and the files removed. Each file is written whole, by a rename, so
    the DAG processor never parses half of one; a job is built by exactly one file once it returns.
    """
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"a set of factory files has 1 to {MAX_SHARDS} files, not {count}")
    shards = [Shard(index, count) for index in range(count)]
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {shard.file_name for shard in shards}
    written = []
    for shard in shards:
        path = folder / shard.file_name
        if not path.is_file() or path.read_text() != shard.source():
            _write_whole(path, shard.source())
        written.append(path)
    removed = []
    for path in sorted(folder.glob("http_trigger_jobs*.py")):
        if path.name not in wanted and shard_of_file(path.name) is not None:
            path.unlink()
            removed.append(path)
    return written, removed


def _write_whole(path: Path, content: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
