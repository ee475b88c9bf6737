"""Who may do what, by role. Views call these; services re-check the ones that guard
state changes, so a crafted request cannot skip them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.choices import Role


def has_role(user, roles: Iterable[str]) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or user.role in set(roles)


def role_required(*roles: str) -> Callable:
    """Login required, then 403 unless the user has one of `roles` (admins always pass)."""
    allowed = set(roles) | {Role.ADMIN}

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not has_role(request.user, allowed):
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
