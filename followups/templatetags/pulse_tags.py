"""The customer pulse on pages other apps render: the account list (handoffs) shows each
account's latest answer, the account page its panel. handoffs cannot import followups,
so the page loads these tags; each reads once per page, whatever its rows."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from accounts.models import Account
from followups.models import CustomerPulse
from followups.selectors.report import latest_pulses

register = template.Library()

PULSE_BADGE = {"going_well": "success", "some_concerns": "warning", "at_risk": "danger"}


@register.simple_tag
def latest_pulses_for(accounts: Iterable[Account]) -> dict[int, CustomerPulse]:
    """The latest answered pulse of each account of a page, by account id (one query)."""
    ids = [account.pk for account in accounts]
    if not ids:
        return {}
    return {pulse.account_id: pulse for pulse in latest_pulses().filter(account_id__in=ids).select_related("contact")}


@register.filter
def pulse_of(pulses: dict[int, CustomerPulse], account_id: int) -> CustomerPulse | None:
    return pulses.get(account_id)


@register.filter
def pulse_badge(answer: str) -> str:
    return PULSE_BADGE.get(answer, "secondary")


@register.simple_tag
def account_latest_pulse(account: Account) -> CustomerPulse | None:
    """The account's latest answered pulse, for its page (one query)."""
    return latest_pulses().filter(account_id=account.pk).select_related("contact").first()
