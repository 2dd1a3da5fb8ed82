"""The endpoint table: one path per operation and version, matching the SDK, and no other source
of HubSpot URLs in the product."""

import re
from pathlib import Path

import hubspot_sdk
import pytest
from django.core.exceptions import ImproperlyConfigured

from connections.hubspot import paths

ROOT = Path(__file__).resolve().parents[2]
V3_ONLY = {op for op, versions in paths.ENDPOINTS.items() if set(versions) == {"v3"}}


def test_inbox_operations_exist_only_as_v3():
    assert {
        "inboxes.list",
        "threads.get",
        "threads.update",
        "threads.list",
        "threads.messages.list",
        "actors.get",
        "actors.batch_read",
    } <= V3_ONLY
    for op in V3_ONLY - {"oauth.authorize"}:
        assert paths.ENDPOINTS[op]["v3"].template.startswith("/conversations/v3/conversations/")


@pytest.mark.parametrize("version", paths.VERSIONS)
def test_every_operation_resolves_in_each_version(settings, version):
    settings.HUBSPOT_API_VERSION = version
    for op, versions in paths.ENDPOINTS.items():
        ep = paths.endpoint(op)
        expected = versions.get(version) or versions["v3"]
        assert ep is expected
        assert ep.template.startswith("/")


def test_version_setting_picks_the_family(settings):
    settings.HUBSPOT_API_VERSION = "v3"
    assert (
        paths.endpoint("messages.publish").template
        == "/conversations/v3/custom-channels/{channelId}/messages"
    )
    assert paths.endpoint("oauth.token").template == "/oauth/v1/token"
    settings.HUBSPOT_API_VERSION = "2026-03"
    assert (
        paths.endpoint("messages.publish").template
        == "/conversations/custom-channels/2026-03/{channelId}/messages"
    )
    assert paths.endpoint("threads.get").template == "/conversations/v3/conversations/threads/{threadId}"


def test_unknown_version_is_a_configuration_error(settings):
    settings.HUBSPOT_API_VERSION = "2024-01"
    with pytest.raises(ImproperlyConfigured, match="HUBSPOT_API_VERSION"):
        paths.endpoint("channels.list")


def test_path_parameters_are_quoted_and_secrets_masked():
    ep = paths.ENDPOINTS["oauth.token_info"]["v3"]
    assert ep.path(token="a/b c") == "/oauth/v1/access-tokens/a%2Fb%20c"
    assert ep.display_path(token="CJDx-secret") == "/oauth/v1/access-tokens/[REDACTED]"


def test_replay_safety_rule():
    eps = {op: v["2026-03"] for op, v in paths.ENDPOINTS.items() if "2026-03" in v}
    assert eps["messages.publish"].replay_safe  # carries integrationIdempotencyId
    assert eps["contacts.search"].replay_safe  # a read
    assert not eps["channels.create"].replay_safe
    assert not eps["channel_accounts.create"].replay_safe
    assert not eps["files.upload"].replay_safe
    assert not eps["webhooks.subscriptions.create"].replay_safe
    assert not eps["oauth.token"].replay_safe
    assert eps["channels.update"].replay_safe and eps["channels.delete"].replay_safe


def _sdk_templates() -> set[str]:
    root = Path(hubspot_sdk.__file__).parent / "resources"
    found = set()
    for source in root.rglob("*.py"):
        found.update(re.findall(r'f?"(/[a-z0-9/{}_.-]+)"', source.read_text()))
    return found


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_2026_03_paths_are_the_sdks_paths():
    sdk = _sdk_templates()
    # Documented but absent from hubspot-sdk 0.1.0a9 (contract §0.8): get one channel.
    not_in_sdk = {"channels.get"}
    for op, versions in paths.ENDPOINTS.items():
        if "2026-03" not in versions or op in not_in_sdk:
            continue
        template = re.sub(r"{(\w+)}", lambda m: "{" + _snake(m.group(1)) + "}", versions["2026-03"].template)
        assert template in sdk, f"{op}: {template} is not a hubspot-sdk path"


def test_no_other_module_builds_hubspot_urls():
    pattern = re.compile(
        r"api\.hubapi\.com|/conversations/v3|custom-channels|/crm/v3|/crm/objects/|/oauth/v1|"
        r"/oauth/2026-03|/webhooks/v3/|/webhooks/2026-03|/files/v3/|/files/2026-03"
    )
    allowed = ("connections/hubspot/", "sandbox/", "tests/", "hitl_portal/settings/", ".venv/")
    offenders = []
    for source in ROOT.rglob("*.py"):
        relative = source.relative_to(ROOT).as_posix()
        if relative.startswith(allowed) or "/migrations/" in relative:
            continue
        for number, line in enumerate(source.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "HubSpot URLs belong in connections/hubspot/paths.py:\n" + "\n".join(offenders)
