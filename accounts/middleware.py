from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class UserTimezoneMiddleware:
    """Shows dates and times in the logged-in user's own time zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        try:
            authenticated = user is not None and user.is_authenticated
        except DatabaseError:
            # The session could not be read: let the view answer (/health/ says 503 in
            # JSON) instead of failing here with an HTML 500.
            authenticated = False
        if authenticated:
            timezone.activate(user.tzinfo)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            # The zone is this request's: a worker thread's next job (or the next test in
            # the same thread) must not inherit the last user's.
            timezone.deactivate()
