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

from handoffs.search import MIN_QUERY_LENGTH, search_everything

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
    context = {"results": results, "min_length": MIN_QUERY_LENGTH, "partial": partial}
    template = "handoffs/search/_results.html" if partial else "handoffs/search/page.html"
    return render(request, template, context)
