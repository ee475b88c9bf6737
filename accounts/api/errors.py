"""The API's one error body (placeholder: DRF's default until the foundation lands)."""

from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    return exception_handler(exc, context)
