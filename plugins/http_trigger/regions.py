"""AWS region names as botocore's partition data knows them, for checking a region before a run needs it.

A region that is not one fails only when the action calls AWS, maybe at night on a schedule; the
job model refuses it when the job is written instead. The shape comes from the partitions' own
region patterns, so a region AWS opens after this botocore was released is still accepted; the
known names serve as suggestions. The pattern is written so that both Python and the pages'
JavaScript (which checks it before Next) read it alike.
"""

from __future__ import annotations

from functools import cache

from botocore.loaders import create_loader

REGION_EXAMPLE = "ap-northeast-1"


@cache
def _partitions() -> list[dict]:
    return create_loader().load_data("partitions")["partitions"]


@cache
def region_pattern() -> str:
    """Return one pattern matching a region of any AWS partition (``us-east-1``, ``cn-north-1``, …)."""
    shapes = (
        partition["regionRegex"].removeprefix("^").removesuffix("$").replace("\\-", "-")
        for partition in _partitions()
    )
    return f"^(?:{'|'.join(f'(?:{shape})' for shape in shapes)})$"


@cache
def known_regions() -> tuple[str, ...]:
    """Return the regions botocore names, without the partitions' pseudo-regions (``aws-global``)."""
    return tuple(
        sorted(
            name
            for partition in _partitions()
            for name in partition["regions"]
            if not name.startswith(partition["id"])
        )
    )
