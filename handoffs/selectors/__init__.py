"""Reads of the handoffs app, one module per area; select_related/prefetch decided here."""
