"""Regions are checked against the shapes of botocore's partitions; the known names are suggestions."""

from __future__ import annotations

import re

import pytest
from http_trigger.regions import REGION_EXAMPLE, known_regions, region_pattern


@pytest.mark.parametrize(
    "region", ["ap-northeast-1", "us-east-1", "eu-central-2", "cn-north-1", "us-gov-west-1", "us-isob-east-1"]
)
def test_a_region_of_any_partition_has_the_shape(region):
    assert re.fullmatch(region_pattern(), region)


@pytest.mark.parametrize("text", ["not a region!!", "ap-northeast", "tokyo", "aws-global", "AP-NORTHEAST-1", ""])
def test_anything_else_has_not(text):
    assert not re.fullmatch(region_pattern(), text)


def test_every_known_region_and_the_example_have_the_shape_and_pseudo_regions_are_left_out():
    assert REGION_EXAMPLE in known_regions()
    assert all(re.fullmatch(region_pattern(), region) for region in known_regions())
    assert not any(region.endswith("-global") for region in known_regions())
