"""The global search page (issue 16) and the top bar's dropdown, one view for both.

`/search/?q=…` is the full page, each kind of result a section; the top bar's box is a
plain GET form to it, so search works without JavaScript. With htmx the box asks for
`/search/?q=…&partial=1` as the user types and shows the bare results list in a
dropdown (static/js/baton.js moves through it with the keyboard). What is found, and
who may see it, is handoffs.search.search_everything.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.common.links import url_for_each
from handoffs.search import MIN_QUERY_LENGTH, SearchResults, search_everything

# The dropdown is a glance; the page shows more of each kind.
DROPDOWN_LIMIT = 5
PAGE_LIMIT = 25


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    partial = request.GET.get("partial") == "1"
    results = search_everything(
        user=request.user, query=request.GET.get("q", ""), limit_per_kind=DROPDOWN_LIMIT if partial else PAGE_LIMIT
    )
    _link_rows(results)
    context = {"results": results, "min_length": MIN_QUERY_LENGTH, "partial": partial}
    template = "handoffs/search/_results.html" if partial else "handoffs/search/page.html"
    return render(request, template, context)


def _link_rows(results: SearchResults) -> None:
    """Each row's link as `search_url`: one reverse() per kind (url_for_each) instead of
    a `{% url %}` per row, about a fifth of rendering the results at 75 rows."""
    deal_url = url_for_each("handoffs:deal_detail")
    account_url = url_for_each("handoffs:account_detail")
    handoff_url = url_for_each("handoffs:handoff_detail")
    for deal in results.deals:
        deal.search_url = deal_url(deal.pk)
    for account in results.accounts:
        account.search_url = account_url(account.pk)
    for contact in results.contacts:
        contact.search_url = f"{account_url(contact.account_id)}#contacts"
    for handoff in results.handoffs:
        handoff.search_url = handoff_url(handoff.pk)
