"""`manage.py hubspot_doctor` against the sandbox: the table, the checks added for delivery
identifiers and scopes, and the publish round trip."""

import io

import pytest
from django.core.management import CommandError, call_command

from connections import registration
from connections.health import check_health
from connections.models import AppKind, ConnectedInbox
from connections.webhook_setup import ensure_app_webhooks
from core.models import AuditLogEntry
from sandbox.models import SandboxChannel, SandboxChannelAccount, SandboxMessage, SandboxThread, SandboxToken

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def healthy(with_inboxes, app):
    registration.request_registration(with_inboxes)
    ensure_app_webhooks(app)
    return with_inboxes


def doctor(*args) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("hubspot_doctor", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def rows(output: str) -> dict[str, str]:
    """Step label -> result, from the printed table."""
    found = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[0] and cells[1] in ("OK", "PROBLEM", "not checked"):
            found[cells[0]] = cells[1]
    return found


def test_prints_every_step_of_a_healthy_connection(healthy, hubspot):
    before = SandboxToken.objects.filter(kind="access").count()

    output, error = doctor("--connection", str(healthy.pk))

    assert error is None, output
    table = rows(output)
    assert table["Access token"] == "OK" and table["Scopes"] == "OK" and table["Custom channel"] == "OK"
    assert table["App webhooks"] == "OK" and table["Channel registration"] == "OK"
    assert table["Last webhook received"] == "not checked"
    assert sum(1 for label in table if label.startswith("Inbox")) == 2
    assert "All steps passed." in output and "CHANNEL_SPECIFIC_OPAQUE_ID" in output
    # The token was refreshed (the refresh token proven), and neither token is printed.
    assert SandboxToken.objects.filter(kind="access").count() == before + 1
    for token in SandboxToken.objects.all():
        assert token.token not in output


def test_publish_test_round_trip(healthy, hubspot):
    inbox = ConnectedInbox.objects.filter(connection=healthy).first()

    output, error = doctor("--connection", str(healthy.pk), "--publish-test", "--inbox", str(inbox.inbox_id))

    assert error is None, output
    table = rows(output)
    assert {
        table[k] for k in ("Publish a test message", "Read the test message back", "Close the test thread")
    } == {"OK"}
    thread = SandboxThread.objects.get()
    assert thread.status == "CLOSED" and thread.inbox.inbox_id == inbox.inbox_id
    assert thread.contact_id is None  # no CRM contact made for the test visitor
    (message,) = SandboxMessage.objects.filter(thread=thread, type="MESSAGE")
    assert message.recipients[0]["deliveryIdentifier"]["value"] == inbox.delivery_identifier
    assert AuditLogEntry.objects.filter(action="connection.publish_test", outcome="success").exists()


def test_an_account_without_identifier_and_an_old_channel_are_problems(healthy, hubspot):
    SandboxChannel.objects.update(capabilities={"deliveryIdentifierTypes": ["HS_EMAIL_ADDRESS"]})
    inbox = ConnectedInbox.objects.filter(connection=healthy).first()
    SandboxChannelAccount.objects.filter(pk=int(inbox.channel_account_id)).update(
        delivery_identifier_type="", delivery_identifier_value=""
    )

    output, error = doctor("--connection", str(healthy.pk))

    assert error is not None and "Custom channel" in str(error)
    assert rows(output)["Custom channel"] == "PROBLEM"
    assert "Register channel" in output
    by_name = {c["name"]: c for c in check_health(healthy)["checks"]}
    assert by_name["channel"]["ok"] is False and by_name["channel"]["fix"]


def test_inbox_whose_account_lost_its_identifier_is_a_problem(healthy, hubspot):
    inbox = ConnectedInbox.objects.filter(connection=healthy).first()
    SandboxChannelAccount.objects.filter(pk=int(inbox.channel_account_id)).update(
        delivery_identifier_value="other"
    )

    by_name = {c["name"]: c for c in check_health(healthy)["checks"]}

    check = by_name[f"inbox:{inbox.inbox_id}"]
    assert check["ok"] is False and "delivery identifier other" in check["message"]


def test_scopes_are_checked_against_the_apps_record(healthy, app):
    app.required_scopes = [*app.required_scopes, "tickets"]
    app.save()

    by_name = {c["name"]: c for c in check_health(healthy)["checks"]}

    assert by_name["scopes"]["ok"] is False and by_name["scopes"]["details"]["missing"] == ["tickets"]
    assert "oauth" in by_name["scopes"]["details"]["required"]


def test_a_project_apps_webhooks_are_not_read_through_the_legacy_api(healthy, app):
    app.kind = AppKind.PROJECT
    app.save()

    check = {c["name"]: c for c in check_health(healthy)["checks"]}["webhooks"]

    assert check["ok"] is None and "export_hubspot_project" in check["fix"]


def test_bad_arguments_are_refused(healthy):
    assert "No connection" in str(doctor("--connection", "999999")[1])
    assert "--inbox" in str(doctor("--connection", str(healthy.pk), "--publish-test")[1])
    assert "has no inbox" in str(
        doctor("--connection", str(healthy.pk), "--publish-test", "--inbox", "12345")[1]
    )
