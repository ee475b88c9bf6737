"""Personal API tokens (placeholder until the token model lands: authenticates nobody)."""

from rest_framework.authentication import BaseAuthentication


class PersonalTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`; see accounts.models.ApiToken."""

    def authenticate(self, request):
        return None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
