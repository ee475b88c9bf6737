"""Helpers every app uses that belong to no domain.

They sit inside accounts, the bottom layer, only so that every app may import them; they
know nothing of roles, teams, accounts, deals or hand-offs, and hold no rule of who may
see or change what (that is each app's access.py). One module per kind of helper:

- edits.py: the version check of concurrent edits and the refusal of unknown fields;
- expressions.py: SQL conditions (`= ANY(...)`) for the visibility and search filters;
- exports.py: a list's rows streamed as CSV or XLSX, formulas escaped (every list's Export);
- forms.py: showing a service's ValidationError on a form;
- http.py: ids and the `next` page read from a request;
- links.py: absolute links for emails and invites, one reverse() for many rows;
- timeline.py: paging through a timeline, newest first.
"""
