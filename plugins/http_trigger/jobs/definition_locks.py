"""Serialise the writes of a shared post-processing definition, and the job writes that reference it.

A definition is a file with no row of its own to lock, and a file lock would not reach the other
API servers; what they all share is the metadata database. So a definition's writers take a
PostgreSQL advisory lock keyed by its name, held until their transaction ends
(``pg_advisory_xact_lock``), as a job's writers hold its registration row. Scoped to the
transaction, it holds behind a transaction-pooling PgBouncer too, and a writer that dies releases
it with its connection.

Creating, changing or deleting a definition takes it exclusively: a second writer of the same
definition waits, then finds the file as the first left it (an existing name, a new version, no
file). A job write that references definitions takes theirs shared, from the check that they
exist until its spec is in place: a delete then either sees the job among the definition's users
and refuses, or goes first, and the job write finds the definition gone. Job writes never wait for
one another here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from http_trigger.errors import HttpTriggerError

# Keys are 64 bits of a digest of this and the name: another application's advisory locks meet them by
# chance alone (one in 2**64), and then only make a write wait.
_KEY_NAMESPACE = b"http_trigger.post_processing_definition\0"


def _key(name: str) -> int:
    """Return the advisory lock key of definition ``name``, a signed 64-bit integer as PostgreSQL's."""
    return int.from_bytes(hashlib.sha256(_KEY_NAMESPACE + name.encode()).digest()[:8], "big", signed=True)


def _require_postgresql(session: Session) -> None:
    dialect = session.get_bind().dialect.name
    if dialect != "postgresql":
        raise HttpTriggerError(
            f"Locking post-processing definitions needs a PostgreSQL metadata database, not {dialect}"
        )


def lock_definition(session: Session, name: str) -> None:
    """Hold definition ``name`` for a write until the transaction ends; wait while another write holds it."""
    _require_postgresql(session)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _key(name)})


def keep_definitions(session: Session, names: Iterable[str]) -> None:
    """Keep definitions ``names`` from being written until the session's transaction ends.

    Waits while one is being written. Shared: any number of job writes keep a definition at once.
    """
    names = sorted(set(names))
    if names:  # a job that references no definition writes on any database
        _require_postgresql(session)
    for name in names:
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _key(name)})
