"""Fixtures of the console log and dashboard tests: one connection per tenant, a real HTTP receiver
for callbacks (tests/callbacks), and a way to run an admin changelist action."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.callbacks.conftest import receiver  # noqa: F401 - a fixture, used by name
from tests.console_logs import known_data
from tests.factories import ConnectionFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # actor names are cached by the webhook processing
    yield
    cache.clear()


@pytest.fixture
def conn_a(tenant_a):
    return ConnectionFactory(tenant=tenant_a, name="Acme portal", portal_id=20260301)


@pytest.fixture
def conn_b(tenant_b):
    return ConnectionFactory(tenant=tenant_b, name="Globex portal", portal_id=20260302)


@pytest.fixture
def known(conn_a, conn_b):
    """The dashboard's known data (known_data.py): tenant A's inboxes, and B's rows that must not count."""
    return known_data.build(conn_a, conn_b)


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def run_action(client, model, action: str, objects, capture):
    """POST the changelist's action form as the admin page does; on-commit tasks run (eagerly)."""
    with capture(execute=True):
        return client.post(
            changelist_url(model),
            {"action": action, "_selected_action": [str(o.pk) for o in objects], "index": "0"},
            follow=True,
        )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
