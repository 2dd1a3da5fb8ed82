"""Every HubSpot payload fixture says where its shape comes from (tests/fixtures/SOURCES.json), and
none is called "recorded" unless it was captured from HubSpot (with when and from where)."""

import importlib
import json
from pathlib import Path

import pytest
from hubspot_sdk._models import validate_type

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DIRS = ("hubspot", "hubspot_webhooks", "hubspot_project")
KINDS = {"sdk-type", "hubspot-reference", "public-integration", "synthetic", "recorded"}
SOURCES = json.loads((FIXTURES / "SOURCES.json").read_text())["fixtures"]


def fixture_files() -> set[str]:
    return {p.relative_to(FIXTURES).as_posix() for d in DIRS for p in (FIXTURES / d).glob("*.json")}


def test_every_fixture_has_a_source_and_every_source_a_fixture():
    assert fixture_files() - set(SOURCES) == set(), "fixtures without a source in SOURCES.json"
    assert set(SOURCES) - fixture_files() == set(), "sources of fixtures that no longer exist"


@pytest.mark.parametrize("path", sorted(SOURCES))
def test_source_is_one_of_the_known_kinds(path):
    entry = SOURCES[path]
    assert entry["kind"] in KINDS and entry["source"]
    if entry["kind"] == "recorded":
        assert entry.get("recorded_at") and entry.get("recorded_from"), "a recording says when and from where"
    else:
        assert "recorded" not in entry.get("note", "").lower(), f"{path} is not a recording"
    if entry["kind"] == "hubspot-reference":
        assert entry["source"].startswith("https://developers.hubspot.com/")


@pytest.mark.parametrize("path", sorted(p for p, e in SOURCES.items() if e["kind"] == "sdk-type"))
def test_sdk_typed_fixtures_validate_against_the_named_type(path):
    module, _, name = SOURCES[path]["source"].rpartition(".")
    model = getattr(importlib.import_module(module), name)
    data = json.loads((FIXTURES / path).read_text())
    if module.startswith("hubspot_sdk"):
        validate_type(type_=model, value=data)
    else:  # hubspot-api-client's models validate on construction; they ignore keys they do not map
        from hubspot.oauth.configuration import Configuration

        config = Configuration()
        config.client_side_validation = True
        model(**{k: v for k, v in data.items() if k in model.attribute_map}, local_vars_configuration=config)
