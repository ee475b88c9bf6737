"""Closes straight from the CRM: POST /api/v1/inbound/<slug>/ (handoffs.views.inbound).

- signature.py: Baton's HMAC-SHA256 signature over "<timestamp>.<raw body>", checked in
  constant time, the timestamp within five minutes (the same scheme for every kind).
- mapping.py: each kind's payload (HubSpot workflow webhook, Salesforce flow HTTP
  callout, generic JSON) read into one InboundDeal, or a MappingError saying why not.
- services.py: the writes — sources (create, rotate the secret), a delivery received
  (stored in its own transaction, then mapped and applied in another through the
  existing services of accounts and handoffs), replay, purge.
- selectors.py: the admin pages' reads.

README "Closes from your CRM" documents the payloads and the signature.
"""
