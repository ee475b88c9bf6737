from django.http import HttpRequest

from accounts.navigation import navigation_for


def navigation(request: HttpRequest) -> dict:
    """The main navigation of the signed-in user's role."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {"nav_items": navigation_for(user.role, is_superuser=user.is_superuser)}
