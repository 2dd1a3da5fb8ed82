"""Model fields for secrets stored encrypted at rest."""

from django import forms
from django.db import models

from core import crypto
from core.secrets import SecretStr


class SecretInput(forms.PasswordInput):
    """Never renders the stored value back into the page."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=False)


class SecretFormField(forms.CharField):
    widget = SecretInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "help_text",
            "Stored encrypted and never shown again. Leave blank to keep the current value.",
        )
        super().__init__(*args, **kwargs)

    def has_changed(self, initial, data) -> bool:
        # A blank submission keeps the stored value, so it is not a change.
        return bool(data)


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python sees the plaintext as a `SecretStr`.

    Blank values are stored as an empty string (not encrypted), so "is it set?" can be asked in SQL.
    In model forms a blank submission keeps the current value: secrets are write-only.
    """

    description = "Text encrypted at rest with the FIELD_ENCRYPTION_KEYS keyring"

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return SecretStr(crypto.decrypt(value))

    def to_python(self, value):
        if value in (None, "") or isinstance(value, SecretStr):
            return value
        return SecretStr(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(str.__str__(value))

    def value_to_string(self, obj):
        # Serialisation (dumpdata, fixtures) never carries the plaintext.
        return ""

    def formfield(self, **kwargs):
        # The widget is forced, not defaulted: the admin's TextField override (a textarea) would
        # otherwise render the stored plaintext back into the page.
        kwargs.update(form_class=SecretFormField, widget=SecretInput)
        return super().formfield(**kwargs)

    def save_form_data(self, instance, data):
        if data in (None, ""):
            return
        super().save_form_data(instance, data)


def encrypted_fields(model) -> list[EncryptedTextField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
