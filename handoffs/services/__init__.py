"""State changes of the handoffs app, one module per aggregate:

- deals.py: accounts, contacts, deals and the close (the rep's side);
- promises.py: promises from the sale through delivery (added, kept, broken, renegotiated);
- handoffs.py: hand-offs, their steps, the three-way meeting and acceptance;
- playbooks.py: playbooks and their steps.

Each service is keyword-only, typed, atomic, validates with full_clean() and writes
its timeline event in the same transaction; side effects are enqueued on commit.
"""
