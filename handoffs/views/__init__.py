"""Views of the handoffs app, one module per area (deals.py, accounts.py, handoffs.py, playbooks.py)."""
