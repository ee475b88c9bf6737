"""URLs of the handoffs app. Each area lists its routes in its own block."""

from django.urls import path  # noqa: F401 — used by the blocks below as they are filled

app_name = "handoffs"

# Deals, accounts and contacts (the rep's pipeline).
deal_urlpatterns: list = []

# Hand-offs, steps, meetings, playbooks, the customer status page.
handoff_urlpatterns: list = []

urlpatterns = deal_urlpatterns + handoff_urlpatterns
