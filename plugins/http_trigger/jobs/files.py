"""Read and write job specs: one YAML file per job in the jobs folder.

Files are the source of truth for job definitions (they hold no secret, so they can be reviewed
and committed). A spec is visible only under its own name, ``job_<id>.yaml``, and every change
of that name is one atomic rename, so a reader (the API, the DAG processor) sees a whole spec or
none, never half a file. Writes happen in steps that :mod:`http_trigger.jobs_service` interleaves
with the database's: :func:`stage_job` writes the new content to a hidden temporary file,
:meth:`StagedSpec.publish` renames it into place; :func:`hide_job_file` renames a spec to a hidden
tombstone, which can be renamed back or removed. Hidden files (``.job_<id>.yaml.*``) never match a
reader's pattern; those a killed process left behind are removed by :func:`remove_stale_leftovers`.

People and tools also put files there by hand, so reading never trusts a file: whatever one file
holds (bad YAML, a hostile document, an unreadable file, a name that gives no job id), it comes
back as a :class:`BrokenSpec` of that file alone, and every other job still loads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import stat
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from http_trigger.errors import (
    JobBrokenError,
    JobConflictError,
    JobNotFoundError,
    JobSpecError,
    JobStorageError,
)
from http_trigger.jobs.model import Job, JobBody, PostProcessingDefinition, PostProcessingSpec, may_hold_a_secret
from http_trigger.jobs.spec_names import SPEC_PREFIX, SPEC_SUFFIX, job_id_of, spec_candidates, spec_path
from http_trigger.jobs.spec_yaml import MAX_SPEC_BYTES, WHOLE_FILE, parse_spec_yaml
from http_trigger.validation import validation_problems

log = logging.getLogger(__name__)

SpecModel = TypeVar("SpecModel", Job, JobBody, PostProcessingDefinition, PostProcessingSpec)
# A write holds its hidden files for milliseconds; one an hour old belongs to a process that died.
LEFTOVER_MAX_AGE_SECONDS = 3600


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


def version_of(content: bytes) -> str:
    """Return the version of a spec's content that optimistic writes compare."""
    return hashlib.sha256(content).hexdigest()[:16]


def load_spec_mapping(content: bytes | str, *, source: str, kind: str = "a job spec") -> dict[str, Any]:
    """Read a spec's YAML at a bounded cost (see :mod:`http_trigger.jobs.spec_yaml`) and require a mapping."""
    data = parse_spec_yaml(content, source=source)
    if not isinstance(data, dict):
        raise JobSpecError(source, (WHOLE_FILE, f"{kind} must be a mapping, got {type(data).__name__}"))
    return data


def validate_spec(
    data: dict[str, Any],
    *,
    source: str,
    model: type[SpecModel],
    hidden: Callable[[tuple[str | int, ...], Any], bool] = may_hold_a_secret,
) -> SpecModel:
    """Validate a spec mapping; raise :class:`JobSpecError` naming ``source``, each field and its reason.

    ``hidden`` tells which inputs may hold a secret, so that no message repeats them.
    """
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise JobSpecError(source, *validation_problems(error, hidden=hidden)) from None


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


# What each spec or definition file was read as, by path, valid while the file's (mtime, size,
# inode) stay the same: listing a thousand jobs then costs a thousand stat calls instead of a
# thousand YAML parses and validations (about 1 s on two cores, on every list request), and a
# definition a thousand jobs reference is read once per parse, not once per job. Writes replace the
# file (a new inode), so a changed file is always read again. A file that does not load is read
# again each time: it is rare, and its error must say what is wrong now. One instance serves every
# reader: nothing changes a job or a definition in place, a change is a new file.
_read_cache: dict[Path, tuple[tuple[int, int, int], Any]] = {}
Read = TypeVar("Read")


def file_version(path: Path) -> tuple[int, int, int]:
    """Return what tells one version of a file from the next without reading it: (mtime, size, inode).

    Raises FileNotFoundError for a vanished file, and OSError when it cannot be looked at.
    """
    info = path.stat()
    return info.st_mtime_ns, info.st_size, info.st_ino


def read_once(path: Path, read: Callable[[], Read]) -> Read:
    """Return what ``read`` makes of ``path``, calling it only when the file changed since the last call.

    What ``read`` raises is not kept: the next call reads the file again.
    """
    version = file_version(path)
    cached = _read_cache.get(path)
    if cached is not None and cached[0] == version:
        return cached[1]
    value = read()
    _read_cache[path] = (version, value)
    return value


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
        return read_once(path, lambda: _read_job(path, job_id))
    except (JobSpecError, FileNotFoundError):
        raise
    except OSError as error:
        raise JobSpecError(path.name, (WHOLE_FILE, f"cannot be read: {error.strerror or error}")) from None


def _read_job(path: Path, job_id: int) -> StoredJob:
    """Read and validate a spec file each time (:func:`read_job_file` keeps what it returns)."""
    try:
        content = read_spec_content(path, source=path.name)
        data = load_spec_mapping(content, source=path.name)
    except (JobSpecError, OSError):
        raise
    except Exception as error:
        raise JobSpecError(
            path.name, (WHOLE_FILE, f"cannot be read: unexpected {type(error).__name__}: {error}")
        ) from error
    job = validate_spec(data, source=path.name, model=Job)
    if job.id != job_id:
        raise JobSpecError(path.name, ("id", f"{job.id} does not match the file name {path.name}"))
    return StoredJob(job=job, path=path, version=version_of(content))


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


@dataclass(frozen=True)
class StagedSpec:
    """A spec written to a hidden temporary file, invisible to readers until it is published."""

    stored: StoredJob
    temp: Path
    previous: bytes | None  # the content it replaces, to put back if the change must be undone

    def publish(self) -> None:
        """Rename the staged file into place: readers see the new spec from now on."""
        _replace(self.temp, self.stored.path, spec=self.stored.path)

    def discard(self) -> None:
        """Remove the staged file, whatever happened to it."""
        self.temp.unlink(missing_ok=True)

    def revert(self) -> None:
        """Put the replaced content back (atomically) after a published change had to be undone."""
        if self.previous is not None:
            write_atomically(self.stored.path, self.previous)


@dataclass(frozen=True)
class HiddenSpec:
    """A spec renamed to a hidden tombstone: gone for readers, and restorable until removed."""

    path: Path
    tombstone: Path

    def restore(self) -> None:
        """Rename the tombstone back into place."""
        _replace(self.tombstone, self.path, spec=self.path)

    def remove(self) -> None:
        """Remove the tombstone for good."""
        self.tombstone.unlink(missing_ok=True)


def stage_job(
    folder: Path, job: Job, *, expected_version: str | None = None, create: bool = False
) -> StagedSpec:
    """Write ``job`` to a hidden temporary file; refuse when the spec changed since ``expected_version``."""
    path = spec_path(folder, job.id)
    previous = None
    if create and path.exists():
        raise JobConflictError(f"Job {job.id} already exists ({path.name})")
    if not create:
        try:
            previous = path.read_bytes()
        except FileNotFoundError:
            raise JobNotFoundError(job.id) from None
        except OSError as error:
            raise JobStorageError(f"{path.name} could not be read: {error.strerror or error}") from None
        current = version_of(previous)
        if expected_version is not None and current != expected_version:
            raise JobConflictError(
                f"Job {job.id} was changed by someone else (version {current}, expected {expected_version})"
            )
    content = render_spec(job).encode()
    temp = _write_hidden(path, content)
    return StagedSpec(stored=StoredJob(job=job, path=path, version=version_of(content)), temp=temp, previous=previous)


def write_job(folder: Path, job: Job, *, expected_version: str | None = None, create: bool = False) -> StoredJob:
    """Write ``job`` atomically, with no database step around it."""
    staged = stage_job(folder, job, expected_version=expected_version, create=create)
    try:
        staged.publish()
    finally:
        staged.discard()
    return staged.stored


def hide_job_file(folder: Path, job_id: int) -> HiddenSpec:
    """Rename the spec of ``job_id`` to a hidden tombstone or raise :class:`JobNotFoundError`."""
    path = spec_path(folder, job_id)
    hidden = hide_spec_file(path)
    if hidden is None:
        raise JobNotFoundError(job_id)
    return hidden


def hide_spec_file(path: Path) -> HiddenSpec | None:
    """Rename a spec file to a hidden tombstone; None when there is no such file."""
    if not path.is_file():
        return None
    tombstone = path.with_name(f".{path.name}.{secrets.token_hex(4)}.deleted")
    try:
        _replace(path, tombstone, spec=path)
    except JobStorageError:
        if not path.exists():
            return None
        raise
    return HiddenSpec(path=path, tombstone=tombstone)


def remove_stale_leftovers(folder: Path, *, max_age_seconds: float = LEFTOVER_MAX_AGE_SECONDS) -> None:
    """Remove the hidden temporary files and tombstones a killed process left, once they are old."""
    if not folder.is_dir():
        return
    oldest_allowed = time.time() - max_age_seconds
    for path in folder.glob(f".{SPEC_PREFIX}*{SPEC_SUFFIX}.*"):
        try:
            if path.is_file() and path.stat().st_mtime < oldest_allowed:
                path.unlink()
                log.info("Removed %s, left behind by an interrupted write", path.name)
        except OSError as error:
            log.warning("Could not remove %s: %s", path.name, error.strerror or error)


def _write_hidden(path: Path, content: bytes) -> Path:
    """Write ``content`` durably to a new hidden file beside ``path`` and return it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise JobStorageError(f"{path.name} could not be written: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)
    except BaseException as error:
        Path(temp_name).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise JobStorageError(f"{path.name} could not be written: {error.strerror or error}") from None
        raise
    return Path(temp_name)


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` in one rename: readers see the old content or the new, never half."""
    temp = _write_hidden(path, content)
    try:
        _replace(temp, path, spec=path)
    finally:
        temp.unlink(missing_ok=True)


def _replace(source: Path, target: Path, *, spec: Path) -> None:
    """Rename ``source`` to ``target`` in one step; an OS error names the ``spec`` and the reason."""
    try:
        os.replace(source, target)
    except OSError as error:
        raise JobStorageError(f"{spec.name} could not be renamed: {error.strerror or error}") from None
