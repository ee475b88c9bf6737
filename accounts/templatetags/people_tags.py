"""People as the pages show them: an initials avatar in a circle, coloured from the
person's id (so the same person has the same colour on every page and for every viewer).

    {% load people_tags %}
    {% avatar deal.owner %}          the circle alone; the full name is its accessible text
    {% avatar user label=False %}    the circle as decoration, beside a name written anyway
    {% person handoff.rep %}         the circle and the name beside it (the circle is then
                                     hidden from screen readers: the name is read once)
    {% person user size="sm" %}      sizes: "sm", "" (default), "lg"

The markup is built here, not in an inclusion template, because a list page renders it
once per row. The colours are the `--baton-avatar-N` tokens in static/css/baton.css."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()

AVATAR_COLOURS = 8
SIZES = {"sm", "lg"}


def full_name(user) -> str:
    """The name a person is shown by: their full name, else their username."""
    return (user.get_full_name() or "").strip() or user.get_username()


def initials(user) -> str:
    """Up to two letters: first and last name's initials; else the name's first two words'
    (or its first two letters, for a one-word username)."""
    first, last = (user.first_name or "").strip(), (user.last_name or "").strip()
    if first or last:
        words = [word for word in (first.split()[:1] + last.split()[-1:]) if word]
    else:
        words = full_name(user).replace(".", " ").replace("_", " ").replace("-", " ").split()
    if len(words) >= 2:
        letters = words[0][0] + words[-1][0]
    elif words:
        letters = words[0][:2]
    else:
        letters = "?"
    return letters.upper()


def colour_class(user) -> str:
    """`avatar-0` … `avatar-7`, from the id: deterministic, and spread evenly over a team."""
    return f"avatar-{(user.pk or 0) % AVATAR_COLOURS}"


def _classes(user, size: str) -> str:
    classes = ["avatar", colour_class(user)]
    if size in SIZES:
        classes.append(f"avatar-{size}")
    return " ".join(classes)


@register.simple_tag
def avatar(user, size: str = "", label: bool = True):
    """The initials circle; its accessible text is the full name (the letters are hidden).
    `label=False` where the name is written beside it anyway: the circle is then decoration,
    hidden from screen readers as a whole."""
    if user is None:
        return ""
    name = full_name(user)
    if not label:
        return format_html(
            '<span class="{}" aria-hidden="true" data-testid="avatar">{}</span>', _classes(user, size), initials(user)
        )
    return format_html(
        '<span class="{}" title="{}" data-testid="avatar"><span aria-hidden="true">{}</span>'
        '<span class="visually-hidden">{}</span></span>',
        _classes(user, size),
        name,
        initials(user),
        name,
    )


@register.simple_tag
def person(user, size: str = "sm", empty: str = "—"):
    """The initials circle and the full name beside it. No one (an unassigned owner): the
    `empty` text, muted."""
    if user is None:
        return format_html('<span class="text-body-secondary">{}</span>', empty)
    return format_html(
        '<span class="person"><span class="{}" aria-hidden="true" data-testid="avatar">{}</span>'
        '<span class="person-name">{}</span></span>',
        _classes(user, size),
        initials(user),
        full_name(user),
    )
