"""An agent's file HubSpot will not sign still reaches the bot through the attachment's own url."""

import pytest

from connections.hubspot import HubSpotAuthError, HubSpotNotFound, HubSpotServerError
from conversations.attachments import fetchable_attachments

FILE = {"type": "FILE", "fileId": "77", "fileUsageType": "IMAGE", "name": "label.png"}


class Refusing:
    def __init__(self, exc):
        self.exc = exc

    def get_signed_url(self, file_id, *, expiration_seconds):
        raise self.exc


def _error(cls):
    return cls("refused", status=(cls is HubSpotNotFound and 404) or 403)


@pytest.mark.parametrize("cls", [HubSpotNotFound, HubSpotAuthError])
def test_falls_back_to_the_attachments_url(cls):
    attachment = FILE | {"url": "https://files.hubspot.example/label.png"}
    (out,) = fetchable_attachments(Refusing(_error(cls)), [attachment])
    assert out["url"] == "https://files.hubspot.example/label.png"
    assert out["signed"] is False
    assert (out["name"], out["content_type"], out["hubspot_file_id"]) == ("label.png", "image/png", "77")
    assert "error" not in out


def test_without_a_url_a_missing_file_is_reported():
    (out,) = fetchable_attachments(Refusing(_error(HubSpotNotFound)), [FILE])
    assert out["url"] is None and out["error"]


def test_a_transient_failure_is_raised_for_the_task_to_retry():
    with pytest.raises(HubSpotServerError):
        fetchable_attachments(Refusing(HubSpotServerError("down", status=503)), [FILE | {"url": "https://x"}])
