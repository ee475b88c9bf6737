from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class TwoFactorRequiredMiddleware:
    """Sends a user who must complete or enrol in two-factor sign-in there (placeholder: issue 15)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
