"""Template tags of the dropped-baton report: the account's health panel and small
formatting helpers."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

from accounts.models import Account
from followups.rules import RULES
from followups.selectors.report import account_open_drops

register = template.Library()


@register.simple_tag
def account_health_drops(account: Account) -> list[dict]:
    """`{% account_health_drops account as drops %}`: the account's open drops by code (one query)."""
    return account_open_drops(account)


@register.simple_tag
def optional_url(name: str, *args) -> str:
    """The URL of `name`, or "" while the app that serves it is not installed yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@register.filter
def signed(value: int | None) -> str:
    """+3, −2 or ±0: how a count changed since the previous period."""
    if not value:
        return "±0"
    return f"+{value}" if value > 0 else f"−{abs(value)}"


@register.filter
def drop_label(code: str) -> str:
    rule = RULES.get(code)
    return rule.label if rule else code


@register.filter
def count_of(counts: dict, code: str) -> int:
    return counts.get(code, 0)


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, "")


@register.filter
def figure(figures: dict, metric: str) -> tuple:
    return figures.get(metric, (None, None, 0))


@register.filter
def health_class(score: int | None) -> str:
    """Bootstrap colour of a health score."""
    if score is None:
        return "secondary"
    if score >= 80:
        return "success"
    if score >= 50:
        return "warning"
    return "danger"
