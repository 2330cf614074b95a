"""Read and write job specs: one YAML file per job in the jobs folder.

Files are the source of truth for job definitions (they hold no secret, so they can be reviewed
and committed); writes go through a temporary file and an atomic rename so that the DAG
processor never reads half a file.

People and tools also put files there by hand, so reading never trusts a file: whatever one file
holds (bad YAML, a hostile document, an unreadable file, a name that gives no job id), it comes
back as a :class:`BrokenSpec` of that file alone, and every other job still loads.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from http_trigger.errors import JobBrokenError, JobConflictError, JobNotFoundError, JobSpecError
from http_trigger.job_model import MAX_JOB_ID, Job, JobBody
from http_trigger.spec_yaml import MAX_SPEC_BYTES, WHOLE_FILE, parse_spec_yaml
from http_trigger.validation import validation_problems

SPEC_SUFFIX = ".yaml"
SpecModel = TypeVar("SpecModel", Job, JobBody)
_SPEC_PREFIX = "job_"
# The one spelling of a job's file name, so that one id never has two files ("job_07.yaml").
_SPEC_NAME = re.compile(rf"{_SPEC_PREFIX}([1-9][0-9]{{0,9}}){re.escape(SPEC_SUFFIX)}")
# Files of these suffixes in the jobs folder are meant as specs, so a wrong name is reported.
_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class StoredJob:
    """A job as read from its file, with the version used for optimistic concurrency."""

    job: Job
    path: Path
    version: str


@dataclass(frozen=True)
class BrokenSpec:
    """A file of the jobs folder that could not be loaded, and the job its name gives, if any."""

    path: Path
    job_id: int | None
    error: JobSpecError


def spec_path(folder: Path, job_id: int) -> Path:
    """Return where the spec of ``job_id`` lives."""
    return folder / f"{_SPEC_PREFIX}{job_id}{SPEC_SUFFIX}"


def job_id_of(path: Path) -> int | None:
    """Return the job id a spec file's name gives (``job_7.yaml``: 7), or None for any other name."""
    match = _SPEC_NAME.fullmatch(path.name)
    job_id = int(match.group(1)) if match else None
    return job_id if job_id is not None and job_id <= MAX_JOB_ID else None


def _version_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


def load_spec_mapping(content: bytes | str, *, source: str) -> dict[str, Any]:
    """Read a spec's YAML at a bounded cost (see :mod:`http_trigger.spec_yaml`) and require a mapping."""
    data = parse_spec_yaml(content, source=source)
    if not isinstance(data, dict):
        raise JobSpecError(source, (WHOLE_FILE, f"a job spec must be a mapping, got {type(data).__name__}"))
    return data


def validate_spec(data: dict[str, Any], *, source: str, model: type[SpecModel]) -> SpecModel:
    """Validate a spec mapping; raise :class:`JobSpecError` naming ``source``, each field and its reason."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise JobSpecError(source, *validation_problems(error)) from None


def parse_spec(content: bytes | str, *, source: str) -> Job:
    """Parse one stored spec (with its id)."""
    return validate_spec(load_spec_mapping(content, source=source), source=source, model=Job)


def read_spec_content(path: Path, *, source: str) -> bytes:
    """Return a spec file's bytes, refusing what is not a regular file or is larger than a spec may be.

    The size is checked before reading, and at most one byte more than the limit is read, so a
    huge file (or one growing meanwhile) costs no memory; a FIFO is never opened, so never waited on.
    """
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise JobSpecError(source, (WHOLE_FILE, "not a regular file"))
    if info.st_size > MAX_SPEC_BYTES:
        raise JobSpecError(
            source, (WHOLE_FILE, f"larger than {MAX_SPEC_BYTES // 1024} KiB, the most a job spec may be")
        )
    with path.open("rb") as handle:
        return handle.read(MAX_SPEC_BYTES + 1)


# The YAML of each spec file, by path, valid while the file's (mtime, size, inode) stay the same:
# listing a thousand jobs then costs a thousand stat calls and validations (about 0.2 s) instead
# of a thousand YAML parses (about 1 s). Writes replace the file (a new inode), so a changed file
# is always read again. Only the parsed mapping is kept; every read validates it afresh.
_yaml_cache: dict[Path, tuple[tuple[int, int, int], dict[str, Any], str]] = {}


def _read_mapping(path: Path) -> tuple[dict[str, Any], str]:
    """Return the spec file's mapping and version, parsing the YAML only when the file changed."""
    info = path.stat()
    key = (info.st_mtime_ns, info.st_size, info.st_ino)
    cached = _yaml_cache.get(path)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    content = read_spec_content(path, source=path.name)
    data = load_spec_mapping(content, source=path.name)
    version = _version_of(content)
    _yaml_cache[path] = (key, data, version)
    return data, version


def read_job_file(path: Path) -> StoredJob:
    """Read and validate one spec file; the name must be ``job_<id>.yaml`` with the id of the file.

    Every failure but a vanished file (FileNotFoundError) becomes a :class:`JobSpecError` naming
    the file, so one file's surprise (a permission, an unforeseen exception) stays that file's.
    """
    job_id = job_id_of(path)
    if job_id is None:
        reason = "not named as a job spec: spec files are named job_<id>.yaml, e.g. job_7.yaml"
        raise JobSpecError(path.name, (WHOLE_FILE, reason))
    try:
        data, version = _read_mapping(path)
    except (JobSpecError, FileNotFoundError):
        raise
    except OSError as error:
        raise JobSpecError(path.name, (WHOLE_FILE, f"cannot be read: {error.strerror}")) from None
    except Exception as error:
        raise JobSpecError(
            path.name, (WHOLE_FILE, f"cannot be read: unexpected {type(error).__name__}: {error}")
        ) from error
    job = validate_spec(data, source=path.name, model=Job)
    if job.id != job_id:
        raise JobSpecError(path.name, ("id", f"{job.id} does not match the file name {path.name}"))
    return StoredJob(job=job, path=path, version=version)


def spec_candidates(folder: Path) -> list[Path]:
    """Return the files of ``folder`` meant as specs (``*.yaml``, ``*.yml``), in id order; none if no folder.

    Hidden files are left out: they are the temporary files of atomic writes (and editors').
    """
    if not folder.is_dir():
        return []
    paths = [p for p in folder.iterdir() if p.suffix in _YAML_SUFFIXES and not p.name.startswith(".")]
    return sorted(paths, key=lambda p: (job_id_of(p) or MAX_JOB_ID + 1, p.name))


def read_specs(paths: Iterable[Path]) -> tuple[list[StoredJob], list[BrokenSpec]]:
    """Read each spec file; a broken one is returned as such and hides no other job.

    A file removed while the folder is read is skipped: it is gone, not broken.
    """
    jobs: list[StoredJob] = []
    broken: list[BrokenSpec] = []
    for path in paths:
        try:
            jobs.append(read_job_file(path))
        except FileNotFoundError:
            continue
        except JobSpecError as error:
            broken.append(BrokenSpec(path=path, job_id=job_id_of(path), error=error))
    return jobs, broken


def load_jobs(folder: Path) -> tuple[list[StoredJob], list[BrokenSpec]]:
    """Read every spec of ``folder``: the jobs that load, and each file that does not."""
    return read_specs(spec_candidates(folder))


def get_job(folder: Path, job_id: int) -> StoredJob:
    """Read the spec of ``job_id``; raise :class:`JobNotFoundError`, or :class:`JobBrokenError` if broken."""
    try:
        return read_job_file(spec_path(folder, job_id))
    except FileNotFoundError:
        raise JobNotFoundError(job_id) from None
    except JobSpecError as error:
        raise JobBrokenError(job_id, error) from None


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
