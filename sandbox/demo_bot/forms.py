"""Forms of the chat page: who the end user is and what they told the bot before asking for a human."""

from __future__ import annotations

import uuid

from django import forms

from sandbox.models import SandboxContact
from sandbox.seed import PORTAL_ID

UNKNOWN = "unknown"
# Not a contact of the demo portal: picking it shows how the API reports contact_not_found.
UNKNOWN_USER = {"name": "Nobody Known", "phone": "+15550199999", "email": "nobody@unknown.example"}
EXAMPLE_TRANSCRIPT = """User: Hi, my order #1042 never arrived.
Bot: Sorry to hear that! Let me check… the carrier lost track of it.
User: Can I talk to a person, please?
Bot: Of course, I'm handing you over to our support team."""


def contact_choices() -> list[tuple[str, str]]:
    contacts = SandboxContact.objects.filter(portal__portal_id=PORTAL_ID, archived=False).order_by("id")
    choices = [(str(c.pk), f"{c.firstname} {c.lastname} — {c.phone} / {c.email}") for c in contacts]
    return [*choices, (UNKNOWN, f"{UNKNOWN_USER['name']} — not a HubSpot contact (to see the error)")]


def parse_transcript(text: str) -> list[dict]:
    """'User: …' / 'Bot: …' lines into transcript items; unprefixed lines continue the previous one."""
    items: list[dict] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        head, sep, rest = line.partition(":")
        role = head.strip().lower()
        if sep and role in ("user", "bot"):
            items.append({"role": role, "text": rest.strip()})
        elif items:
            items[-1]["text"] += "\n" + line
        else:
            raise forms.ValidationError(f"Start each line with “User:” or “Bot:” (got “{line[:40]}”).")
    return items


class EscalateForm(forms.Form):
    contact = forms.ChoiceField(label="The end user (a contact of the demo HubSpot portal)")
    identify_by = forms.ChoiceField(
        label="Identify them by",
        choices=[("phone", "Phone number"), ("email", "Email address")],
        initial="phone",
        widget=forms.RadioSelect,
    )
    title = forms.CharField(label="Title", max_length=300, initial="Order never arrived")
    description = forms.CharField(
        label="Description for the agent",
        required=False,
        initial="Customer asks for a refund or a replacement.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    transcript = forms.CharField(
        label="Conversation with the bot so far",
        required=False,
        initial=EXAMPLE_TRANSCRIPT,
        help_text="One line each, starting with “User:” or “Bot:”. The agent sees it in HubSpot.",
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = contact_choices()
        if not self.is_bound:
            # One token per rendered form: a resubmission reuses it as the Idempotency-Key.
            self.initial["token"] = uuid.uuid4().hex

    def clean_transcript(self) -> list[dict]:
        return parse_transcript(self.cleaned_data["transcript"])

    def user(self) -> dict:
        """{name, phone, email} of the chosen contact."""
        choice = self.cleaned_data["contact"]
        if choice == UNKNOWN:
            return dict(UNKNOWN_USER)
        contact = SandboxContact.objects.get(pk=int(choice))
        return {
            "name": f"{contact.firstname} {contact.lastname}".strip(),
            "phone": contact.phone,
            "email": contact.email,
        }


class MessageForm(forms.Form):
    text = forms.CharField(label="Your message", max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))
