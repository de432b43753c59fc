"""Without ruamel.yaml.clib, encfile falls back to ruamel's pure-Python parser: same results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PLAIN, SOPS_VECTORS, TEST_PUBLIC, TEST_SECRET

import encfile
from encfile.formats import yaml_events


@pytest.fixture(autouse=True)
def pure_python_parser() -> Iterator[None]:
    saved = yaml_events._parser_class
    yaml_events._parser_class = False  # as if ruamel.yaml.clib were not installed
    yield
    yaml_events._parser_class = saved


@pytest.mark.parametrize("path", sorted(PLAIN.glob("*.yaml")), ids=lambda p: p.name)
def test_round_trip_without_libyaml(path: Path) -> None:
    text = path.read_bytes().decode()
    assert encfile.decrypt(encfile.encrypt(text, recipients=TEST_PUBLIC),
                           identities=[TEST_SECRET]) == text


def test_sops_vector_without_libyaml() -> None:
    path = SOPS_VECTORS / "comments.enc.yaml"
    expected = (SOPS_VECTORS / "comments.sops-d.yaml").read_text()
    assert encfile.decrypt(path.read_text(), identities=[TEST_SECRET]) == expected


def test_parse_errors_are_clean_without_libyaml() -> None:
    with pytest.raises(encfile.InputError, match="invalid YAML"):
        encfile.encrypt("a: [1, 2\n", recipients=TEST_PUBLIC)
