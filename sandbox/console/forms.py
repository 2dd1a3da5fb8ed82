"""Forms of the console pages."""

from __future__ import annotations

import uuid

from django import forms

from sandbox.models import SandboxBehaviour


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name or obj.email or obj.actor_id} ({obj.actor_id})"


class AssignForm(forms.Form):
    agent = AgentChoiceField(queryset=None, to_field_name="actor_id", empty_label=None, label="Assign to")

    def __init__(self, *args, agents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents


class ActAsForm(AssignForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].label = "Acting as"


class ReplyForm(forms.Form):
    text = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Write a reply to the visitor…"}),
        label="Reply",
    )
    attachment = forms.FileField(required=False, label="Attach a file")
    # One value per rendered form: a resubmitted form must not send the reply twice.
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("token", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if not (data.get("text") or "").strip() and not data.get("attachment"):
            raise forms.ValidationError("Write a message or attach a file.")
        data["text"] = (data.get("text") or "").strip()
        return data


class AgentForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField()


class BehaviourForm(forms.ModelForm):
    class Meta:
        model = SandboxBehaviour
        fields = [
            "duplicate_deliveries",
            "reorder_deliveries",
            "webhook_max_attempts",
            "fail_next_requests",
            "fail_status",
            "fail_path_contains",
            "rate_limit_per_10s",
            "access_token_ttl_seconds",
            "channel_list_delay_seconds",
        ]

    groups = (
        ("Outgoing webhooks", ("duplicate_deliveries", "reorder_deliveries", "webhook_max_attempts")),
        ("API faults", ("fail_next_requests", "fail_status", "fail_path_contains", "rate_limit_per_10s")),
        ("Tokens and channels", ("access_token_ttl_seconds", "channel_list_delay_seconds")),
    )

    def clean_webhook_max_attempts(self):
        value = self.cleaned_data["webhook_max_attempts"]
        if value < 1:
            raise forms.ValidationError("At least one attempt.")
        return value

    def grouped(self):
        return [(title, [self[name] for name in names]) for title, names in self.groups]
