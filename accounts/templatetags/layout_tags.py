"""`{% layout_link 'search' %}`: an address the layout links to (accounts.navigation's
LAYOUT_URL_NAMES and LAYOUT_ASSETS), reversed or hashed once per process instead of a
`{% url %}` or `{% static %}` on every page. A tag, not a context variable, so a page
rendered without the request's context processors still gets its links."""

from __future__ import annotations

from django import template

from accounts.navigation import layout_links

register = template.Library()


@register.simple_tag
def layout_link(name: str) -> str:
    return layout_links()[name]
