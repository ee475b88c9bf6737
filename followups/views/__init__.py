"""Views of the followups app, one module per area (core.py, checkins.py, reminders.py, report.py)."""
