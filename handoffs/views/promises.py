"""Pages of a promise through delivery: mark it kept, mark it broken, renegotiate it.

Each is a small form shown inline on the deal and hand-off pages (it works without
JavaScript); posted, it goes back where it came from (`next`); refused, it is shown again
on its own page with the errors. Access: 404 unless the user may read the deal, 403 unless
they may work its promises (handoffs.access.user_may_work_promise).
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.common.forms import add_service_error
from accounts.common.http import safe_next_url
from handoffs.access import user_may_work_promise
from handoffs.forms.promises import PromiseBrokenForm, PromiseKeptForm, PromiseRenegotiateForm
from handoffs.selectors.promises import PromiseToWork, promise_for_work
from handoffs.services.promises import promise_mark_broken, promise_mark_kept, promise_renegotiate


def _promise_action(
    request: HttpRequest,
    pk: int,
    *,
    form_class: type[forms.Form],
    service: Callable[..., object],
    title: str,
    done: str,
    initial: Callable[[PromiseToWork], dict] | None = None,
) -> HttpResponse:
    work = promise_for_work(request.user, pk)
    if not user_may_work_promise(request.user, deal=work.deal, handoff=work.handoff, promise=work.promise):
        raise PermissionDenied("Only the delivery owner, the rep or their managers work this deal's promises.")
    fallback = f"{reverse('handoffs:deal_detail', args=[work.deal.pk])}#promise-{work.promise.pk}"
    form = form_class(request.POST or None, initial=initial(work) if initial else None)
    if request.method == "POST" and form.is_valid():
        try:
            service(actor=request.user, promise=work.promise, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, done)
            return redirect(safe_next_url(request, fallback))
    context = {
        "form": form,
        "promise": work.promise,
        "deal": work.deal,
        "title": title,
        "next": safe_next_url(request, fallback),
    }
    return render(request, "handoffs/promises/action.html", context)


@login_required
def promise_kept(request: HttpRequest, pk: int) -> HttpResponse:
    return _promise_action(
        request, pk, form_class=PromiseKeptForm, service=promise_mark_kept, title="Mark kept", done="Promise kept."
    )


@login_required
def promise_broken(request: HttpRequest, pk: int) -> HttpResponse:
    return _promise_action(
        request,
        pk,
        form_class=PromiseBrokenForm,
        service=promise_mark_broken,
        title="Mark broken",
        done="Promise marked broken; the rep and their manager are told.",
    )


@login_required
def promise_renegotiate_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _promise_action(
        request,
        pk,
        form_class=PromiseRenegotiateForm,
        service=promise_renegotiate,
        title="Renegotiate",
        done="Promise renegotiated; the first wording is kept.",
        initial=lambda work: {"new_wording": work.promise.description, "new_due": work.promise.target_date},
    )
