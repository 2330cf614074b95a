"""Read and write job specs: one YAML file per job in the jobs folder.

Files are the source of truth for job definitions (they hold no secret, so they can be reviewed
and committed); writes go through a temporary file and an atomic rename so that the DAG
processor never reads half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from http_trigger.errors import JobConflictError, JobNotFoundError, JobSpecError
from http_trigger.job_model import Job, JobBody
from http_trigger.validation import describe_validation_error

SPEC_SUFFIX = ".yaml"
SpecModel = TypeVar("SpecModel", Job, JobBody)
_SPEC_PREFIX = "job_"


@dataclass(frozen=True)
class StoredJob:
    """A job as read from its file, with the version used for optimistic concurrency."""

    job: Job
    path: Path
    version: str


def spec_path(folder: Path, job_id: int) -> Path:
    """Return where the spec of ``job_id`` lives."""
    return folder / f"{_SPEC_PREFIX}{job_id}{SPEC_SUFFIX}"


def _version_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


def load_spec_mapping(content: bytes | str, *, source: str) -> dict[str, Any]:
    """Read YAML safely (no tags, no environment expansion) and require a mapping."""
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as error:
        raise JobSpecError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise JobSpecError(f"{source}: a job spec must be a mapping, got {type(data).__name__}")
    return data


def validate_spec(data: dict[str, Any], *, source: str, model: type[SpecModel]) -> SpecModel:
    """Validate a spec mapping; raise :class:`JobSpecError` naming ``source``, the field and the reason."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise JobSpecError(f"{source}: {describe_validation_error(error)}") from None


def parse_spec(content: bytes | str, *, source: str) -> Job:
    """Parse one stored spec (with its id)."""
    return validate_spec(load_spec_mapping(content, source=source), source=source, model=Job)


# The YAML of each spec file, by path, valid while the file's (mtime, size, inode) stay the same:
# listing a thousand jobs then costs a thousand stat calls and validations (about 0.2 s) instead
# of a thousand YAML parses (about 1 s). Writes replace the file (a new inode), so a changed file
# is always read again. Only the parsed mapping is kept; every read validates it afresh.
_yaml_cache: dict[Path, tuple[tuple[int, int, int], dict[str, Any], str]] = {}


def _read_mapping(path: Path) -> tuple[dict[str, Any], str]:
    """Return the spec file's mapping and version, parsing the YAML only when the file changed."""
    stat = path.stat()
    key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _yaml_cache.get(path)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    content = path.read_bytes()
    data = load_spec_mapping(content, source=path.name)
    version = _version_of(content)
    _yaml_cache[path] = (key, data, version)
    return data, version


def read_job_file(path: Path) -> StoredJob:
    """Read and validate one spec file; the id in the file must match its name."""
    data, version = _read_mapping(path)
    job = validate_spec(data, source=path.name, model=Job)
    if path.name != spec_path(path.parent, job.id).name:
        raise JobSpecError(f"{path.name}: id: {job.id} does not match the file name (expected job_<id>.yaml)")
    return StoredJob(job=job, path=path, version=version)


def spec_files(folder: Path) -> Iterator[Path]:
    """Yield the spec files of ``folder`` in id order (missing folder: none)."""
    if not folder.is_dir():
        return
    paths = [p for p in folder.glob(f"{_SPEC_PREFIX}*{SPEC_SUFFIX}") if p.is_file()]
    yield from sorted(paths, key=lambda p: (len(p.name), p.name))


def load_jobs(folder: Path) -> tuple[list[StoredJob], list[JobSpecError]]:
    """Read every spec of ``folder``; a broken file is returned as an error and hides no other job."""
    jobs: list[StoredJob] = []
    errors: list[JobSpecError] = []
    for path in spec_files(folder):
        try:
            jobs.append(read_job_file(path))
        except JobSpecError as error:
            errors.append(error)
    return jobs, errors


def get_job(folder: Path, job_id: int) -> StoredJob:
    """Read the spec of ``job_id`` or raise :class:`JobNotFoundError`."""
    path = spec_path(folder, job_id)
    if not path.is_file():
        raise JobNotFoundError(job_id)
    return read_job_file(path)


def render_spec(job: Job) -> str:
    """Render a job as the YAML users read and commit: defaults included, keys in model order."""
    return yaml.safe_dump(job.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def write_job(folder: Path, job: Job, *, expected_version: str | None = None, create: bool = False) -> StoredJob:
    """Write ``job`` atomically; refuse when the file changed since ``expected_version`` was read."""
    folder.mkdir(parents=True, exist_ok=True)
    path = spec_path(folder, job.id)
    if create and path.exists():
        raise JobConflictError(f"Job {job.id} already exists ({path.name})")
    if not create:
        if not path.exists():
            raise JobNotFoundError(job.id)
        current = _version_of(path.read_bytes())
        if expected_version is not None and current != expected_version:
            raise JobConflictError(
                f"Job {job.id} was changed by someone else (version {current}, expected {expected_version})"
            )
    content = render_spec(job).encode()
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return StoredJob(job=job, path=path, version=_version_of(content))


def delete_job_file(folder: Path, job_id: int) -> None:
    """Remove the spec of ``job_id`` or raise :class:`JobNotFoundError`."""
    path = spec_path(folder, job_id)
    if not path.is_file():
        raise JobNotFoundError(job_id)
    path.unlink()
