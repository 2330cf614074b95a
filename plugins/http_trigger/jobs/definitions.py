"""Shared post-processing definitions: one YAML file each, beside the job specs that reference them.

A definition is an inline step (type, retries, parameters) under a name, kept as
``post_processing/<name>.yaml`` in the jobs folder. Files, like job specs, so a deployment needs
no table and no migration, the DAG processor (which may not use the metadata DB while parsing)
reads them where it reads the jobs, and they can be reviewed and committed with the jobs. They are
read and written with the job specs' machinery (:mod:`http_trigger.jobs.files`): bounded YAML, the
one model, atomic renames, optimistic versions.

A job refers to a definition by name (``{ref: team-slack}``); :func:`resolve_references` replaces the
references by the definitions when the job's DAG is built, so a changed definition changes every
job that uses it at their next parse. A job whose reference names no loadable definition fails
that resolution with a :class:`JobSpecError` of its own file: a broken job, like any spec that
cannot be built, and no other job's problem.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from http_trigger.errors import (
    DefinitionConflictError,
    DefinitionNotFoundError,
    JobSpecError,
    JobStorageError,
)
from http_trigger.jobs.files import (
    HiddenSpec,
    file_version,
    hide_spec_file,
    load_spec_mapping,
    read_once,
    read_spec_content,
    validate_spec,
    version_of,
    write_atomically,
)
from http_trigger.jobs.model import (
    Job,
    JobBody,
    PostProcessing,
    PostProcessingDefinition,
    PostProcessingRef,
    PostProcessingSpec,
)
from http_trigger.jobs.spec_yaml import WHOLE_FILE

DEFINITIONS_FOLDER_NAME = "post_processing"
"""The folder of the definitions inside the jobs folder; no spec suffix, so the jobs' readers skip it."""
DEFINITION_SUFFIX = ".yaml"
# What a definition's file names or holds besides its parameters: never a secret.
_PLAIN_FIELDS = frozenset({"name", "type", "retries"})


@dataclass(frozen=True)
class StoredDefinition:
    """A definition as read from its file, with the version used for optimistic concurrency."""

    definition: PostProcessingDefinition
    path: Path
    version: str


@dataclass(frozen=True)
class BrokenDefinition:
    """A file of the definitions folder that could not be loaded."""

    path: Path
    error: JobSpecError


def definitions_folder(jobs_folder: Path) -> Path:
    """Return the folder of the definitions that the jobs of ``jobs_folder`` reference."""
    return jobs_folder / DEFINITIONS_FOLDER_NAME


def definition_path(folder: Path, name: str) -> Path:
    """Return where definition ``name`` lives in a definitions ``folder``."""
    return folder / f"{name}{DEFINITION_SUFFIX}"


def _source(path: Path) -> str:
    return f"{DEFINITIONS_FOLDER_NAME}/{path.name}"


def may_hold_a_secret(loc: tuple[str | int, ...], value: Any) -> bool:
    """Tell whether the input of a definition's error at ``loc`` may hold a secret, so no message repeats it.

    Its parameters hold the secrets, and a misspelt key may hold one too: only the name, the type
    and the retries are shown.
    """
    return not loc or loc[0] not in _PLAIN_FIELDS


def read_definition_file(path: Path) -> StoredDefinition:
    """Read and validate one definition file, whose name must be the definition's own.

    A file is read again only once it changed (:func:`~http_trigger.jobs.files.read_once`): a parse
    of a thousand jobs referencing one definition reads it once. A vanished file raises
    FileNotFoundError; anything else wrong, a :class:`JobSpecError` naming the file.
    """
    source = _source(path)
    try:
        return read_once(path, lambda: _read_definition(path, source))
    except (JobSpecError, FileNotFoundError):
        raise
    except OSError as error:
        raise JobSpecError(source, (WHOLE_FILE, f"cannot be read: {error.strerror or error}")) from None


def _read_definition(path: Path, source: str) -> StoredDefinition:
    """Read and validate a definition file each time (:func:`read_definition_file` keeps what it returns)."""
    content = read_spec_content(path, source=source)
    data = load_spec_mapping(content, source=source, kind="a post-processing definition")
    definition = validate_spec(data, source=source, model=PostProcessingDefinition, hidden=may_hold_a_secret)
    if path.name != f"{definition.name}{DEFINITION_SUFFIX}":
        raise JobSpecError(source, ("name", f"{definition.name!r} does not match the file name {path.name}"))
    return StoredDefinition(definition=definition, path=path, version=version_of(content))


def get_definition(folder: Path, name: str) -> StoredDefinition:
    """Read definition ``name``; raise :class:`DefinitionNotFoundError`, or :class:`JobSpecError` if broken."""
    try:
        return read_definition_file(definition_path(folder, name))
    except FileNotFoundError:
        raise DefinitionNotFoundError(name) from None


def load_definitions(folder: Path) -> tuple[list[StoredDefinition], list[BrokenDefinition]]:
    """Read every definition of ``folder``, by name: those that load, and each file that does not."""
    if not folder.is_dir():
        return [], []
    loaded, broken = [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix != DEFINITION_SUFFIX:
            continue  # the hidden files of atomic writes
        try:
            loaded.append(read_definition_file(path))
        except FileNotFoundError:
            continue
        except JobSpecError as error:
            broken.append(BrokenDefinition(path=path, error=error))
    return loaded, broken


def render_definition(definition: PostProcessingDefinition) -> str:
    """Render a definition as the YAML people read and commit: its name first, defaults included."""
    data = definition.model_dump(mode="json")
    return yaml.safe_dump({"name": data.pop("name"), **data}, sort_keys=False, allow_unicode=True)


def write_definition(
    folder: Path,
    definition: PostProcessingDefinition,
    *,
    expected_version: str | None = None,
    create: bool = False,
) -> StoredDefinition:
    """Write a definition atomically; refuse an existing name on create, a missing one or a stale version else."""
    path = definition_path(folder, definition.name)
    if create and path.exists():
        raise DefinitionConflictError(f"Post-processing definition {definition.name!r} already exists")
    if not create:
        try:
            current = version_of(path.read_bytes())
        except FileNotFoundError:
            raise DefinitionNotFoundError(definition.name) from None
        except OSError as error:
            raise JobStorageError(f"{_source(path)} could not be read: {error.strerror or error}") from None
        if expected_version is not None and current != expected_version:
            raise DefinitionConflictError(
                f"Post-processing definition {definition.name!r} was changed by someone else "
                f"(version {current}, expected {expected_version})"
            )
    content = render_definition(definition).encode()
    write_atomically(path, content)
    return StoredDefinition(definition=definition, path=path, version=version_of(content))


def hide_definition(folder: Path, name: str) -> HiddenSpec:
    """Rename definition ``name``'s file to a hidden tombstone (restorable), or raise :class:`DefinitionNotFoundError`."""
    hidden = hide_spec_file(definition_path(folder, name))
    if hidden is None:
        raise DefinitionNotFoundError(name)
    return hidden


def jobs_using(jobs: Iterable[Job], name: str) -> list[Job]:
    """Return the jobs whose steps reference definition ``name``, by id."""
    return sorted((job for job in jobs if name in job.post_processing.references()), key=lambda job: job.id)


SpecT = TypeVar("SpecT", Job, JobBody)


def resolve_references(job: SpecT, folder: Path, *, source: str) -> SpecT:
    """Return the job with each reference among its steps replaced by the definition it names, inline.

    Raises :class:`JobSpecError` of ``source`` (the job's file) naming each reference that names
    no definition, or a definition whose file does not load. A job without references is returned as it is.
    """
    if not job.post_processing.references():
        return job
    resolved: dict[str, list[PostProcessingSpec]] = {}
    problems: list[tuple[str, str]] = []
    for when in ("on_success", "on_failure"):
        resolved[when] = []
        for index, step in enumerate(getattr(job.post_processing, when)):
            if isinstance(step, PostProcessingRef):
                field = f"post_processing.{when}.{index}.ref"
                try:
                    definition = get_definition(folder, step.ref).definition
                except DefinitionNotFoundError as error:
                    problems.append((field, str(error)))
                    continue
                except JobSpecError as error:
                    problems.append((field, f"post-processing definition {step.ref!r} does not load ({error})"))
                    continue
                step = PostProcessingSpec.model_validate(definition.model_dump(exclude={"name"}))
            resolved[when].append(step)
    if problems:
        raise JobSpecError(source, *problems)
    return job.model_copy(update={"post_processing": PostProcessing(**resolved)})


def references_version(job: Job, folder: Path) -> str:
    """Return a version of the definitions the job references (as their files are now), for caches.

    A job's build outcome depends on them as much as on its own spec. Each file is looked at, not
    read (:func:`~http_trigger.jobs.files.file_version`): this runs for every job that is checked.
    """
    digest = hashlib.sha256()
    for name in sorted(job.post_processing.references()):
        try:
            version = ":".join(map(str, file_version(definition_path(folder, name))))
        except OSError:
            version = "-"
        digest.update(f"{name}\0{version}\0".encode())
    return digest.hexdigest()[:16]
