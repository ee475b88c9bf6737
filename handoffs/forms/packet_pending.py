"""The form of a pending hand-off packet (handoffs.packet.packet_pending): a manager's waiver."""

from __future__ import annotations

from django import forms


class PacketPendingWaiveForm(forms.Form):
    """Start the hand-off without the missing parts: why (kept on the deal and its timeline)."""

    reason = forms.CharField(
        max_length=1000,
        label="Start the hand-off without them: why?",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
