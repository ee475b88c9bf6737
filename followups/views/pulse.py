"""The customer pulse's public pages: no login, reached through the signed link of the
pulse e-mail (followups.selectors.pulse). One click on an answer records it; the page
then offers a comment box; opting out asks for one confirming click (a POST), because
mail scanners open every link of an e-mail and "never ask me again" cannot be undone.

Every page that cannot do what the link asks says why, clearly, and records nothing:
a tampered link (400), an expired one (410), a contact who opted out (410), an answer
that can no longer be changed (409).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from followups.choices import PulseAnswer
from followups.selectors.pulse import LinkProblem, pulse_for_token
from followups.services.pulse import (
    COMMENT_MAX_LENGTH,
    REFUSED_CLOSED,
    REFUSED_OPTED_OUT,
    pulse_answer,
    pulse_comment,
    pulse_opt_out,
)

PROBLEM_STATUS = {
    LinkProblem.INVALID: 400,
    LinkProblem.EXPIRED: 410,
    REFUSED_OPTED_OUT: 410,
    REFUSED_CLOSED: 409,
}


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: keep it out of search engines and other sites' logs.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _problem(request: HttpRequest, problem: str, *, pulse=None, detail: str = "") -> HttpResponse:
    context = {"problem": str(problem), "pulse": pulse, "detail": detail}
    return _private(render(request, "followups/pulse/problem.html", context, status=PROBLEM_STATUS[problem]))


def _page(request: HttpRequest, token: str, pulse, *, just_answered: bool = False, errors=None) -> HttpResponse:
    context = {
        "token": token,
        "pulse": pulse,
        "answers": PulseAnswer,
        "just_answered": just_answered,
        "comment_saved": request.GET.get("comment") == "saved",
        "comment_max_length": COMMENT_MAX_LENGTH,
        "errors": errors or [],
    }
    return _private(render(request, "followups/pulse/page.html", context, status=400 if errors else 200))


@never_cache
@require_GET
def pulse_page(request: HttpRequest, token: str) -> HttpResponse:
    """The pulse page: the answer so far, the three answers, the comment box."""
    link = pulse_for_token(token)
    if link.pulse is None:
        return _problem(request, link.problem)
    if link.pulse.contact.pulse_opted_out_at is not None:
        return _problem(request, REFUSED_OPTED_OUT, pulse=link.pulse)
    return _page(request, token, link.pulse)


@never_cache
@require_GET
def pulse_answer_view(request: HttpRequest, token: str, answer: str) -> HttpResponse:
    """One click from the e-mail records the answer (a GET: see the README on scanners)."""
    link = pulse_for_token(token)
    if link.pulse is None:
        return _problem(request, link.problem)
    if answer not in PulseAnswer.values:
        return _problem(request, LinkProblem.INVALID)
    try:
        result = pulse_answer(pulse=link.pulse, answer=answer)
    except ValidationError as refused:
        return _problem(request, refused.code or LinkProblem.INVALID, pulse=link.pulse, detail=refused.messages[0])
    return _page(request, token, result.pulse, just_answered=True)


@never_cache
@require_POST
def pulse_comment_view(request: HttpRequest, token: str) -> HttpResponse:
    link = pulse_for_token(token)
    if link.pulse is None:
        return _problem(request, link.problem)
    try:
        pulse_comment(pulse=link.pulse, comment=request.POST.get("comment", ""))
    except ValidationError as refused:
        if refused.code in (REFUSED_CLOSED, REFUSED_OPTED_OUT):
            return _problem(request, refused.code, pulse=link.pulse, detail=refused.messages[0])
        return _page(request, token, link.pulse, errors=refused.messages)
    return redirect(f"{request.path.removesuffix('comment/')}?comment=saved")


@never_cache
@require_http_methods(["GET", "POST"])
def pulse_opt_out_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation (scanners open links; they do not submit forms); POST
    records the opt-out."""
    link = pulse_for_token(token)
    if link.pulse is None:
        return _problem(request, link.problem)
    done = link.pulse.contact.pulse_opted_out_at is not None
    if request.method == "POST":
        pulse_opt_out(pulse=link.pulse)
        done = True
    return _private(
        render(request, "followups/pulse/opt_out.html", {"pulse": link.pulse, "token": token, "done": done})
    )
