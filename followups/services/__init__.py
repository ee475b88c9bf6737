"""State changes of the followups app, one module per area (checkins.py, reminders.py, notifications.py, report.py)."""
