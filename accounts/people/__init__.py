"""People managed in the app (issue 15): admins invite users, set their role, team and
the teams they lead, deactivate and reactivate them, keep the teams, and read the audit
log of every such change. services.py writes (each change audited), selectors.py reads,
views.py and forms.py are the pages."""
