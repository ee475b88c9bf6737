"""Template tags of a deal's next step edited in place (issue 16): the component
(templates/handoffs/deals/_next_step.html) is included by My day, the board's cards and
the deal page, whose views know nothing of it; these answer what it needs to know."""

from __future__ import annotations

from django import template
from django.http import HttpRequest

from accounts.access import team_scope_ids
from accounts.models import User
from handoffs.access import deal_editable_by
from handoffs.models import Deal

register = template.Library()


def _team_scope(request: HttpRequest | None, user: User) -> set[int]:
    """The user's team scope, read once per request: a page lists up to a few hundred
    deals, and a manager's scope is a query."""
    if request is None:
        return team_scope_ids(user)
    if not hasattr(request, "_next_step_team_scope"):
        request._next_step_team_scope = team_scope_ids(user)
    return request._next_step_team_scope


@register.simple_tag(takes_context=True)
def next_step_editable(context: template.Context, deal: Deal) -> bool:
    """`{% next_step_editable deal as can_edit %}`: whether the viewer may set this deal's
    next step — it is open and they may change it (handoffs.access.deal_editable_by)."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is None or not user.is_authenticated or not deal.is_open:
        return False
    return deal_editable_by(user, deal, scope=_team_scope(request, user))


def page_path_of(request: HttpRequest | None) -> str:
    """The path of the page the browser shows, for `next`. A fragment htmx fetched is
    rendered by another URL than the page it lands on: htmx names that page
    (HX-Current-URL); django-htmx keeps it only when it is this site's. The board reads
    it once for all its cards (handoffs.views.deals._board_context)."""
    if request is None:
        return ""
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.current_url_abs_path:
        return htmx.current_url_abs_path
    return request.get_full_path()


@register.simple_tag(takes_context=True)
def page_path(context: template.Context) -> str:
    """`{% page_path as here %}`: page_path_of the request being rendered."""
    return page_path_of(context.get("request"))
