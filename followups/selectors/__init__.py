"""Reads of the followups app, one module per area."""
