"""A deal's next step, set or moved in place from My day, the board and the deal page
(issue 16).

One URL serves both ways of working. With htmx, the component
(templates/handoffs/deals/_next_step.html) fetches its edit state, posts it and is
swapped for what the server answers: the next step as saved, or the form again with its
errors and what was typed (200, so htmx swaps it in place). A board card's save re-renders
the board, as a stage move does, so that every card carries the deal's new version.
Without JavaScript the edit link opens this page's own form, and a save answers
303 See Other back to the page the user came from (a `next` that stays on this site).

Access as on the deal's other forms: a deal the user may not read is a 404, one they
may read but not change a 403 (handoffs.access.deal_editable_by).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.common.edits import StaleEditError
from accounts.common.forms import add_service_error
from accounts.common.http import safe_next_url, see_other
from handoffs.access import deal_editable_by
from handoffs.forms.deals import NextStepForm
from handoffs.models import Deal
from handoffs.selectors.deals import deal_for_next_step
from handoffs.services.deals import deal_next_step_set
from handoffs.views.deals import _board_context

# Where the component sits: a line of My day, a board card, the deal page's card.
VARIANTS = frozenset({"line", "card", "page"})
BOARD_SCOPES = frozenset({"mine", "all"})


def _variant(request: HttpRequest) -> str:
    variant = request.POST.get("variant") or request.GET.get("variant")
    return variant if variant in VARIANTS else "page"


def _form_for(deal: Deal, data=None) -> NextStepForm:
    # Ids per deal: My day may hold several of these forms open at once.
    form = NextStepForm(
        data,
        auto_id=f"next-step-{deal.pk}-%s",
        initial={"next_step": deal.next_step, "next_step_due": deal.next_step_due, "version": deal.version},
    )
    if data is None:
        # Opened: the cursor goes to the text (htmx focuses [autofocus] in what it swaps in);
        # shown again with errors, static/js/form-errors.js puts it in the first invalid field.
        form.fields["next_step"].widget.attrs["autofocus"] = True
    return form


def _with_version(form: NextStepForm, deal: Deal, version: int) -> NextStepForm:
    """The form as typed, carrying the version now saved: after a refused stale save,
    saving again is a deliberate choice to replace what the other person saved."""
    data = form.data.copy()
    data["version"] = str(version)
    refreshed = _form_for(deal, data)
    refreshed.is_valid()
    return refreshed


def _stale_message(current: Deal) -> str:
    if not current.is_open or current.next_step_due is None:
        return "Someone else changed this deal meanwhile: reload the page."
    return (
        f"Someone else saved this deal meanwhile: its next step is now “{current.next_step}” "
        f"(due {current.next_step_due:%d %b %Y}). Yours is kept here: save it again to replace theirs, or cancel."
    )


def _component(request: HttpRequest, deal: Deal, *, variant: str, back: str, **extra) -> HttpResponse:
    context = {"deal": deal, "variant": variant, "back": back, "scope": _scope(request), **extra}
    form = extra.get("form")
    if form is not None:
        form.mark_invalid_fields()
    if not request.htmx:
        context["variant"] = "full"
        return render(request, "handoffs/deals/next_step.html", context)
    return render(request, "handoffs/deals/_next_step.html", context)


def _scope(request: HttpRequest) -> str:
    scope = request.POST.get("scope") or request.GET.get("scope") or ""
    return scope if scope in BOARD_SCOPES else ""


def _saved(request: HttpRequest, deal: Deal, *, variant: str, back: str) -> HttpResponse:
    if not request.htmx:
        messages.success(request, f"Next step saved: {deal.next_step} (due {deal.next_step_due:%d %b %Y}).")
        return see_other(request, back)
    if variant == "card":
        # The board re-renders, as after a stage move: each card's version is current
        # (a drag sends it) and the card takes its place in the column's order.
        response = render(
            request, "handoffs/deals/_board.html", _board_context(request, scope=_scope(request) or "mine")
        )
        response["HX-Retarget"] = "#board"
        response["HX-Reswap"] = "outerHTML"
        return response
    fresh = deal_for_next_step(request.user, deal.pk)
    return _component(request, fresh, variant=variant, back=back, saved=True, focus_edit=True)


@login_required
@require_http_methods(["GET", "POST"])
def deal_next_step(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the edit form (htmx: the component in its edit state; `show=1`, as it was).
    POST: save it (deal_next_step_set)."""
    deal = deal_for_next_step(request.user, pk)
    if not deal_editable_by(request.user, deal):
        raise PermissionDenied("You may read this deal but not change its next step.")
    variant = _variant(request)
    # Back to the page the user is on: `next`, else (htmx) the page the browser shows.
    shown = request.htmx.current_url_abs_path if request.htmx else None
    back = safe_next_url(request, fallback=shown or reverse("handoffs:deal_detail", args=[deal.pk]))
    if not deal.is_open:
        if not request.htmx:
            messages.info(request, "This deal is closed: it has no next step any more.")
            return see_other(request, back) if request.method == "POST" else HttpResponseRedirect(back)
        return _component(request, deal, variant=variant, back=back)
    if request.method == "GET":
        if request.htmx and request.GET.get("show"):
            return _component(request, deal, variant=variant, back=back, focus_edit=True)
        return _component(request, deal, variant=variant, back=back, form=_form_for(deal))
    form = _form_for(deal, request.POST)
    if form.is_valid():
        try:
            saved = deal_next_step_set(
                actor=request.user,
                deal=deal,
                next_step=form.cleaned_data["next_step"],
                next_step_due=form.cleaned_data["next_step_due"],
                expected_version=form.cleaned_data["version"],
            )
        except StaleEditError:
            current = deal_for_next_step(request.user, deal.pk)
            form = _with_version(form, deal, current.version)
            form.add_error(None, _stale_message(current))
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return _saved(request, saved, variant=variant, back=back)
    return _component(request, deal, variant=variant, back=back, form=form)
