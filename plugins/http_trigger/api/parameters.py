"""The JSON API's path and query parameters that need bounds, declared once with them.

A number or a string from a URL reaches the metadata database: an id beyond its integer columns,
an offset beyond its ``bigint``, a NUL character (which PostgreSQL refuses in any text) would fail
there as a server error. Declared bounds make them a 422 naming the parameter instead, and put the
bounds in the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from http_trigger.jobs.model import DEFINITION_NAME_MAX_LEN, DEFINITION_NAME_PATTERN

MAX_INT = 2**31 - 1  # the largest 32-bit integer: job ids are stored as such, and no page starts further
MAX_RUN_ID_LENGTH = 250  # Airflow's run_id column

JobIdPath = Annotated[int, Path(ge=1, le=MAX_INT, description="The job's id.")]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_INT, description="How many entries to skip.")]
DagRunIdPath = Annotated[
    str,
    Path(
        max_length=MAX_RUN_ID_LENGTH,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The run's id (Airflow's dag_run_id); no control characters.",
    ),
]
DefinitionNamePath = Annotated[
    str,
    Path(
        max_length=DEFINITION_NAME_MAX_LEN,
        pattern=DEFINITION_NAME_PATTERN,
        description="The post-processing definition's name, e.g. team-slack.",
    ),
]
