"""Reading a spec's YAML at a bounded cost: what specs use is read as PyYAML's safe loader reads it,
what a hostile file would use is refused before it costs anything."""

from __future__ import annotations

import pytest
import yaml
from http_trigger.errors import JobSpecError
from http_trigger.jobs.spec_yaml import MAX_NESTING, MAX_SPEC_BYTES, parse_spec_yaml

from ...conftest import REPO


def problems_of(content: bytes | str) -> tuple[tuple[str, str], ...]:
    with pytest.raises(JobSpecError) as raised:
        parse_spec_yaml(content, source="job_3.yaml")
    assert raised.value.source == "job_3.yaml"
    return raised.value.problems


def nested(depth: int) -> bytes:
    """A mapping holding ``depth`` levels of nodes in all."""
    return b"a: " + b"[" * (depth - 1) + b"]" * (depth - 1) + b"\n"


def test_the_example_specs_read_as_the_safe_loader_reads_them():
    examples = sorted((REPO / "dags" / "example_jobs").glob("*.yaml"))
    assert examples
    for path in examples:
        assert parse_spec_yaml(path.read_bytes(), source=path.name) == yaml.safe_load(path.read_bytes())


def test_text_and_a_utf8_byte_order_mark_are_read():
    assert parse_spec_yaml("name: café\n", source="x.yaml") == {"name": "café"}
    assert parse_spec_yaml(b"\xef\xbb\xbfname: x\n", source="x.yaml") == {"name": "x"}


def test_a_billion_laughs_is_refused_at_its_first_anchor_not_expanded():
    laughs = b"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + b"".join(
        f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 9)}]\n".encode() for n in range(20)
    )
    assert problems_of(laughs) == (
        ("(file)", "anchors and aliases (&name, *name) are not allowed in job specs (line 1, column 4)"),
    )


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"name: *nowhere\n", "line 1, column 7"),
        (b"step:\n  retries: 1\n  <<: *base\n", "line 3, column 7"),
        (b"name: &n x\n", "line 1, column 7"),
    ],
)
def test_any_anchor_or_alias_is_refused(content, where):
    assert problems_of(content) == (
        ("(file)", f"anchors and aliases (&name, *name) are not allowed in job specs ({where})"),
    )


def test_nesting_is_bounded():
    assert parse_spec_yaml(nested(MAX_NESTING), source="x.yaml")
    assert problems_of(nested(MAX_NESTING + 1)) == (
        ("(file)", f"nested deeper than {MAX_NESTING} levels (line 1, column {MAX_NESTING + 3})"),
    )


def test_size_is_bounded():
    assert parse_spec_yaml(b"#" * MAX_SPEC_BYTES, source="x.yaml") is None
    assert problems_of(b"#" * (MAX_SPEC_BYTES + 1)) == (
        ("(file)", "larger than 128 KiB, the most a job spec may be"),
    )


def test_bytes_that_are_not_utf8_are_named():
    assert problems_of(b"name: \xff\xfe\n") == (("(file)", "not UTF-8 text (byte 6 is 0xff)"),)


def test_control_characters_and_python_tags_are_not_valid_yaml():
    assert problems_of(b"name: a\x00b\n") == (
        (
            "(file)",
            'not valid YAML: unacceptable character #x0000: control characters are not allowed '
            'in "<byte string>", position 7',
        ),
    )
    assert problems_of(b"name: !!python/object/apply:os.system ['true']\n") == (
        (
            "(file)",
            "not valid YAML: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object/apply:os.system' (line 1, column 7)",
        ),
    )
