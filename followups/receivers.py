"""Receivers of the handoffs app's domain signals (documented in handoffs/signals.py)."""
