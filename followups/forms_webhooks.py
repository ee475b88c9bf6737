"""The webhook endpoint form (admins). Validation of the endpoint itself (https, known
events) is the model's clean(), reached through the services: its errors come back on
the fields by add_service_error, and what was typed stays."""

from __future__ import annotations

from django import forms

from followups.choices import WebhookEvent, WebhookFormat


class WebhookEndpointForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="For you: “Ops Slack channel”, “ERP”.")
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where Baton POSTs each event (https://). For Slack or Teams, the channel's incoming-webhook URL.",
    )
    format = forms.ChoiceField(choices=WebhookFormat.choices, initial=WebhookFormat.GENERIC)
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="What this endpoint is told about.",
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)
