"""CRM search semantics and Files API validation beyond what the SDK contract tests cover."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from sandbox.models import SandboxContact

SEARCH = "/crm/v3/objects/contacts/search"


def emails(response) -> list[str]:
    return [r["properties"].get("email") for r in response.json()["results"]]


def search(api, portal, *filters, **extra):
    body = {"filterGroups": [{"filters": list(filters)}], "properties": ["email"]} | extra
    return api.post(SEARCH, body, **portal.bearer())


def test_search_operators(api, portal):
    assert emails(search(api, portal, {"propertyName": "firstname", "operator": "EQ", "value": "grace"})) == [
        "grace@example.com"
    ]
    assert (
        len(
            emails(
                search(api, portal, {"propertyName": "email", "operator": "NEQ", "value": "ada@example.com"})
            )
        )
        == 9  # the other 4 demo contacts and the 5 with phones in mixed formats
    )
    assert emails(
        search(api, portal, {"propertyName": "lastname", "operator": "CONTAINS_TOKEN", "value": "tur*"})
    ) == ["alan@example.com"]
    assert emails(
        search(
            api,
            portal,
            {
                "propertyName": "hs_object_id",
                "operator": "IN",
                "values": [str(portal.seed["contacts"][4]["id"])],
            },
        )
    ) == ["edsger@example.org"]
    assert search(api, portal, {"propertyName": "email", "operator": "HAS_PROPERTY"}).json()["total"] == 10
    assert search(api, portal, query="hopper").json()["total"] == 1


def test_search_ands_filters_and_ors_groups(api, portal):
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "firstname", "operator": "EQ", "value": "Ada"},
                    {"propertyName": "lastname", "operator": "EQ", "value": "Hopper"},
                ]
            },
            {"filters": [{"propertyName": "email", "operator": "EQ", "value": "alan@example.com"}]},
        ],
        "properties": ["email"],
    }
    assert emails(api.post(SEARCH, body, **portal.bearer())) == ["alan@example.com"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"limit": 201}, "limit"),
        (
            {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE", "value": "x"}]}]},
            "filterGroups[0].filters[0].operator",
        ),
        (
            {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "IN"}]}]},
            "filterGroups[0].filters[0].values",
        ),
        ({"filterGroups": [{"filters": []}] * 7}, "filterGroups"),
        ({"after": "abc"}, "after"),
    ],
)
def test_search_validation(api, portal, body, field):
    response = api.post(SEARCH, body, **portal.bearer())
    assert response.status_code == 400
    assert response.json()["errors"][0]["in"] == field


def test_archived_contacts_are_not_found(api, portal):
    ada = portal.seed["contacts"][0]
    SandboxContact.objects.filter(pk=ada["id"]).update(archived=True)
    assert (
        search(api, portal, {"propertyName": "email", "operator": "EQ", "value": ada["email"]}).json()[
            "total"
        ]
        == 0
    )
    assert api.get(f"/crm/v3/objects/contacts/{ada['id']}", **portal.bearer()).status_code == 404
    assert (
        api.get(f"/crm/v3/objects/contacts/{ada['id']}?archived=true", **portal.bearer()).status_code == 200
    )


def test_get_contact_by_email_id_property(api, portal):
    response = api.get(
        "/crm/objects/2026-03/contacts/GRACE@example.com?idProperty=email&properties=phone", **portal.bearer()
    )
    assert response.json()["properties"]["phone"] == "+15550100002"


def test_search_needs_the_contacts_scope(api, portal):
    from tests.sandbox.conftest import mint_token

    token = mint_token(portal.seed["refresh_token"], scopes=["files"]).token
    assert api.post(SEARCH, {}, **portal.bearer(token)).status_code == 403


# Files -----------------------------------------------------------------------------------------


def upload(client, portal, **fields):
    data = {"file": SimpleUploadedFile("a.txt", b"abc", content_type="text/plain")} | fields
    return client.post("/sandbox/api/files/v3/files", data, **portal.bearer())


def test_upload_validation(client, portal):
    options = json.dumps({"access": "PRIVATE"})
    no_folder = upload(client, portal, options=options)
    assert no_folder.status_code == 400
    assert no_folder.json()["message"] == "Either 'folderId' or 'folderPath' is required"
    no_access = upload(client, portal, folderPath="/x", options="{}")
    assert no_access.json()["errors"][0]["in"] == "options.access"
    no_file = client.post(
        "/sandbox/api/files/v3/files", {"folderPath": "/x", "options": options}, **portal.bearer()
    )
    assert no_file.json()["errors"][0]["in"] == "file"


def test_duplicate_strategies(client, portal):
    reject = json.dumps({"access": "PRIVATE", "duplicateValidationStrategy": "REJECT"})
    existing = json.dumps({"access": "PRIVATE", "duplicateValidationStrategy": "RETURN_EXISTING"})
    first = upload(client, portal, folderPath="/x", options=reject)
    assert first.status_code == 201
    conflict = upload(client, portal, folderPath="/x", options=reject)
    assert conflict.status_code == 409
    assert conflict["x-should-retry"] == "false"
    assert upload(client, portal, folderPath="/x", options=existing).json()["id"] == first.json()["id"]


def test_download_serves_the_bytes(client, portal):
    file = upload(client, portal, folderPath="/x", options=json.dumps({"access": "PRIVATE"})).json()
    path = file["url"].removeprefix("http://testserver")
    response = client.get(path)
    assert response.content == b"abc"
    assert response["Content-Type"] == "text/plain"
