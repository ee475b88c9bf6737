"""The access matrix (issue 15): for every URL that names an object (an id, a token, a
code), what each kind of user gets. tests/test_access_matrix.py requests every cell and
fails on any difference, and on any such URL missing from the table, so a new page
cannot skip it. `python -m tests.access_matrix` prints the table as Markdown (README
"Security").

The columns (tests/security/world.py builds the world): every object belongs to the
Sales team's rep ("owner"): a teammate is another rep of Sales, the team's manager
manages Sales; the other team's rep and manager are of another sales team; the delivery
lead owns the hand-off (accepted) and runs its meeting; the admin is an admin.

Codes: 200 the page; 302 done, redirected to a page that is not the login; back
redirected back with an error message, nothing written; login redirected to the login
page; 403 refused; 404 refused without telling whether it exists; 405 the method is not
allowed; 400/401/410 refused for a bad, unsigned or dead link.
GET is requested with no query, POST with the row's data (values "@name" are the world's
objects' ids) or an empty body; a request refused (any code but 200 and 302) must have
written nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

COLUMNS = (
    "owner",
    "teammate",
    "team_manager",
    "other_rep",
    "other_manager",
    "delivery_lead",
    "admin",
    "anonymous",
)
COLUMN_TITLES = (
    "owner",
    "teammate",
    "team's manager",
    "other team's rep",
    "other team's manager",
    "delivery lead",
    "admin",
    "anonymous",
)

REFUSED = {"400", "401", "403", "404", "405", "410", "login", "back"}


@dataclass(frozen=True)
class Row:
    """One URL pattern: its name, the world's objects its arguments are, and the code
    each column gets for GET and for POST (None: the view does not take a POST)."""

    name: str
    args: tuple[str, ...]
    get: str
    post: str | None = None
    data: dict[str, str] | None = None
    # Tables a refused request may write to: a log of refusals kept on purpose.
    logs: tuple[str, ...] = ()
    note: str = ""

    def codes(self, method: str) -> dict[str, str]:
        line = self.get if method == "get" else self.post
        assert line is not None, self.name
        values = line.split()
        assert len(values) == len(COLUMNS), f"{self.name} {method}: {len(values)} codes for {len(COLUMNS)} columns"
        return dict(zip(COLUMNS, values, strict=True))


# Known defects the lead is fixing: (url name, method, column) → the code it gets today.
# The test accepts today's code for these cells only, and fails once a cell is fixed so
# the entry is removed. Empty it; never add to it silently.
KNOWN_DEFECTS: dict[tuple[str, str, str], str] = {}

# URL names with object arguments deliberately left out of the matrix, and why.
EXCLUDED: dict[str, str] = {}

ROWS: tuple[Row, ...] = (
    # --- accounts --------------------------------------------------------------------
    Row(
        "password_reset_confirm",
        ("reset_uid", "reset_token"),
        "302 302 302 302 302 302 302 302",
        "back back back back back back back back",
    ),
    Row(
        "accounts:api_token_revoke",
        ("api_token",),
        "405 405 405 405 405 405 405 login",
        "302 404 404 404 404 404 404 login",
    ),
    Row(
        "accounts:two_factor_reset",
        ("owner_user",),
        "405 405 405 405 405 405 405 405",
        "403 403 403 403 403 403 302 login",
    ),
    Row(
        "accounts:invite_accept",
        ("reset_uid", "reset_token"),
        "302 302 302 302 302 302 302 302",
        "back back back back back back back back",
    ),
    Row("people:edit", ("owner_user",), "403 403 403 403 403 403 200 login", "403 403 403 403 403 403 200 login"),
    Row("people:deactivate", ("owner_user",), "403 403 403 403 403 403 200 login", "403 403 403 403 403 403 302 login"),
    Row(
        "people:reactivate", ("owner_user",), "403 403 403 403 403 403 405 login", "403 403 403 403 403 403 back login"
    ),
    Row(
        "people:resend_invite",
        ("owner_user",),
        "403 403 403 403 403 403 405 login",
        "403 403 403 403 403 403 back login",
    ),
    Row("people:unlock", ("owner_user",), "403 403 403 403 403 403 405 login", "403 403 403 403 403 403 back login"),
    Row("people:team_edit", ("sales_team",), "403 403 403 403 403 403 200 login", "403 403 403 403 403 403 200 login"),
    Row(
        "people:team_delete", ("sales_team",), "403 403 403 403 403 403 405 login", "403 403 403 403 403 403 back login"
    ),
    Row(
        "followups:open_work",
        ("owner_user",),
        "403 403 200 403 403 403 200 login",
        "403 403 back 403 403 403 back login",
    ),
    Row(
        "followups:contact_personal_data",
        ("contact",),
        "403 403 403 403 403 403 200 login",
        "403 403 403 403 403 403 405 login",
    ),
    Row(
        "followups:contact_personal_data_export",
        ("contact",),
        "403 403 403 403 403 403 200 login",
        "403 403 403 403 403 403 405 login",
    ),
    Row(
        "followups:contact_erase",
        ("contact",),
        "403 403 403 403 403 403 405 login",
        "403 403 403 403 403 403 200 login",
    ),
    Row(
        "handoffs:customer_links", ("handoff",), "200 403 200 404 404 200 200 login", "405 405 405 405 405 405 405 405"
    ),
    Row(
        "handoffs:customer_link_revoke",
        ("handoff", "status_contact"),
        "405 405 405 405 405 405 405 405",
        "302 403 302 404 404 302 302 login",
    ),
    Row(
        "handoffs:customer_link_send",
        ("handoff", "status_contact"),
        "405 405 405 405 405 405 405 405",
        "302 403 302 404 404 302 302 login",
    ),
    # --- deals -------------------------------------------------------------------------
    Row("handoffs:deal_detail", ("deal",), "200 200 200 404 404 404 200 login"),
    Row("handoffs:deal_edit", ("deal",), "200 403 200 404 404 404 200 login", "200 403 200 404 404 404 200 login"),
    Row(
        "handoffs:deal_no_promises",
        ("deal",),
        "405 405 405 405 405 405 405 login",
        "back 403 back 404 404 404 back login",
    ),
    Row(
        "handoffs:deal_stage",
        ("deal",),
        "405 405 405 405 405 405 405 login",
        "302 403 302 404 404 404 302 login",
        data={"stage": "propose", "version": "1"},
    ),
    Row("handoffs:deal_close", ("deal",), "200 403 200 404 404 404 200 login", "200 403 200 404 404 404 200 login"),
    Row(
        "handoffs:deal_next_step",
        ("deal",),
        "200 403 200 404 404 404 200 login",
        "200 403 200 404 404 404 200 login",
        note="issue 16: the next step set in place; an empty POST shows the form again",
    ),
    Row(
        "handoffs:deal_reopen", ("won_deal",), "403 403 200 404 404 403 200 login", "403 403 200 404 404 403 200 login"
    ),
    Row("handoffs:promise_add", ("deal",), "405 405 405 405 405 405 405 login", "200 403 200 404 404 404 200 login"),
    Row(
        "handoffs:deal_contact_add", ("deal",), "405 405 405 405 405 405 405 login", "200 403 200 404 404 404 200 login"
    ),
    Row(
        "handoffs:deal_packet_waive",
        ("won_deal",),
        "405 405 405 405 405 405 405 login",
        "403 403 back 404 404 403 back login",
        data={"reason": "Signed in a hurry"},
    ),
    Row(
        "handoffs:deal_packet_recheck",
        ("won_deal",),
        "405 405 405 405 405 405 405 login",
        "back 403 back 404 404 403 back login",
    ),
    # --- accounts and contacts ------------------------------------------------------------
    Row("handoffs:account_detail", ("account",), "200 200 200 404 404 404 200 login"),
    Row(
        "handoffs:account_edit", ("account",), "200 403 200 404 404 404 200 login", "200 403 200 404 404 404 200 login"
    ),
    Row(
        "handoffs:contact_create",
        ("account",),
        "200 403 200 404 404 404 200 login",
        "200 403 200 404 404 404 200 login",
    ),
    Row(
        "handoffs:contact_edit", ("contact",), "200 403 200 404 404 404 200 login", "200 403 200 404 404 404 200 login"
    ),
    # --- hand-offs, steps, meetings, promises -----------------------------------------------
    Row("handoffs:handoff_detail", ("handoff",), "200 200 200 404 404 200 200 login"),
    Row("handoffs:handoff_brief", ("handoff",), "200 200 200 404 404 200 200 login"),
    Row(
        "handoffs:handoff_propose",
        ("proposed_handoff",),
        "405 405 405 405 405 405 405 405",
        "403 403 back 404 404 403 back login",
        data={"owner": "@delivery_lead"},
    ),
    Row(
        "handoffs:handoff_accept",
        ("proposed_handoff",),
        "405 405 405 405 405 405 405 405",
        "back back back 404 404 302 back login",
    ),
    Row(
        "handoffs:handoff_decline",
        ("proposed_handoff",),
        "405 405 405 405 405 405 405 405",
        "back back back 404 404 302 back login",
        data={"reason": "Fully booked"},
    ),
    Row(
        "handoffs:handoff_complete",
        ("handoff",),
        "405 405 405 405 405 405 405 405",
        "403 403 back 404 404 back back login",
    ),
    Row(
        "handoffs:meeting_schedule",
        ("handoff",),
        "200 403 200 404 404 200 200 login",
        "200 403 200 404 404 200 200 login",
    ),
    Row("handoffs:step_complete", ("step",), "405 405 405 405 405 405 405 405", "302 403 302 404 404 302 302 login"),
    Row(
        "handoffs:step_skip",
        ("step",),
        "405 405 405 405 405 405 405 405",
        "302 403 302 404 404 302 302 login",
        data={"reason": "Not needed"},
    ),
    Row("handoffs:step_reopen", ("step",), "405 405 405 405 405 405 405 405", "back 403 back 404 404 back back login"),
    Row(
        "handoffs:meeting_record",
        ("meeting",),
        "200 403 200 404 404 200 200 login",
        "200 403 200 404 404 200 200 login",
    ),
    Row(
        "handoffs:meeting_reschedule",
        ("meeting",),
        "200 403 200 404 404 200 200 login",
        "200 403 200 404 404 200 200 login",
    ),
    Row(
        "handoffs:meeting_cancel",
        ("meeting",),
        "405 405 405 405 405 405 405 405",
        "302 403 302 404 404 302 302 login",
        data={"reason": "Customer asked"},
    ),
    Row(
        "handoffs:promise_kept", ("promise",), "200 403 200 404 404 200 200 login", "200 403 200 404 404 200 200 login"
    ),
    Row(
        "handoffs:promise_broken",
        ("promise",),
        "200 403 200 404 404 200 200 login",
        "200 403 200 404 404 200 200 login",
    ),
    Row(
        "handoffs:promise_renegotiate",
        ("promise",),
        "200 403 200 404 404 200 200 login",
        "200 403 200 404 404 200 200 login",
    ),
    Row("handoffs:customer_status", ("status_token",), "200 200 200 200 200 200 200 200"),
    # --- admin pages -------------------------------------------------------------------
    Row(
        "handoffs:playbook_edit",
        ("playbook",),
        "403 403 403 403 403 403 200 login",
        "403 403 403 403 403 403 200 login",
    ),
    Row(
        "handoffs:inbound_receive",
        ("inbound_slug",),
        "405 405 405 405 405 405 405 405",
        "401 401 401 401 401 401 401 401",
        # Every delivery, an unsigned one too, is kept for the admins' delivery log.
        logs=("handoffs_inbounddelivery",),
        note="The CRM's endpoint: a signature, not a login, decides.",
    ),
    Row(
        "handoffs:inbound_source_detail",
        ("inbound_source",),
        "403 403 403 403 403 403 200 login",
        "403 403 403 403 403 403 200 login",
    ),
    Row(
        "handoffs:inbound_source_rotate",
        ("inbound_source",),
        "403 403 403 403 403 403 405 login",
        "403 403 403 403 403 403 302 login",
    ),
    Row(
        "handoffs:inbound_delivery_detail",
        ("inbound_delivery",),
        "403 403 403 403 403 403 200 login",
        "403 403 403 403 403 403 405 login",
    ),
    Row(
        "handoffs:inbound_delivery_replay",
        ("inbound_delivery",),
        "403 403 403 403 403 403 405 login",
        "403 403 403 403 403 403 back login",
    ),
    Row(
        "handoffs:import_detail",
        ("import_job",),
        "403 403 302 403 404 403 302 login",
        "403 403 405 403 405 403 405 login",
    ),
    Row(
        "handoffs:import_mapping",
        ("import_job",),
        "403 403 200 403 404 403 200 login",
        "403 403 200 403 404 403 200 login",
    ),
    Row(
        "handoffs:import_dry_run",
        ("import_job",),
        "403 403 302 403 404 403 302 login",
        "403 403 302 403 404 403 302 login",
    ),
    Row(
        "handoffs:import_start",
        ("import_job",),
        "403 403 405 403 405 403 405 login",
        "403 403 back 403 404 403 back login",
    ),
    Row(
        "handoffs:import_progress",
        ("import_job",),
        "403 403 200 403 404 403 200 login",
        "403 403 405 403 405 403 405 login",
    ),
    Row(
        "handoffs:import_rejects",
        ("import_job",),
        "403 403 200 403 404 403 200 login",
        "403 403 405 403 405 403 405 login",
    ),
    # --- followups ---------------------------------------------------------------------
    Row(
        "followups:checkin_log", ("checkin",), "200 404 200 404 404 403 200 login", "200 404 200 404 404 403 200 login"
    ),
    Row(
        "followups:checkin_reschedule",
        ("checkin",),
        "200 404 200 404 404 403 200 login",
        "200 404 200 404 404 403 200 login",
    ),
    Row(
        "followups:checkin_add", ("handoff",), "200 404 200 404 404 403 200 login", "200 404 200 404 404 403 200 login"
    ),
    Row(
        "followups:calendar_feed",
        ("calendar_token",),
        "200 200 200 200 200 200 200 200",
        "405 405 405 405 405 405 405 405",
    ),
    Row(
        "followups:notification_read",
        ("notification",),
        "405 405 405 405 405 405 405 login",
        "302 404 404 404 404 404 404 login",
    ),
    Row(
        "followups:outbox_retry",
        ("outbox_message",),
        "403 403 403 403 403 403 405 login",
        "403 403 403 403 403 403 302 login",
    ),
    Row(
        "followups:report_drilldown",
        ("drop_code",),
        "403 403 200 403 200 403 200 login",
        "403 403 405 403 405 403 405 login",
    ),
    Row("followups:pulse_page", ("pulse_token",), "200 200 200 200 200 200 200 200", "405 405 405 405 405 405 405 405"),
    Row(
        "followups:pulse_comment",
        ("pulse_token",),
        "405 405 405 405 405 405 405 405",
        "302 302 302 302 302 302 302 302",
    ),
    Row(
        "followups:pulse_opt_out",
        ("pulse_token",),
        "200 200 200 200 200 200 200 200",
        "200 200 200 200 200 200 200 200",
    ),
    Row(
        "followups:pulse_answer",
        ("pulse_token", "pulse_answer"),
        "200 200 200 200 200 200 200 200",
        "405 405 405 405 405 405 405 405",
    ),
    Row(
        "followups:webhook_detail",
        ("webhook",),
        "403 403 403 403 403 403 200 login",
        "403 403 403 403 403 403 405 login",
    ),
    Row(
        "followups:webhook_edit", ("webhook",), "403 403 403 403 403 403 200 login", "403 403 403 403 403 403 200 login"
    ),
    Row(
        "followups:webhook_set_active",
        ("webhook",),
        "403 403 403 403 403 403 405 login",
        "403 403 403 403 403 403 302 login",
    ),
    Row(
        "followups:webhook_rotate_secret",
        ("webhook",),
        "403 403 403 403 403 403 405 login",
        "403 403 403 403 403 403 302 login",
    ),
    Row(
        "followups:webhook_send_test",
        ("webhook",),
        "403 403 403 403 403 403 405 login",
        "403 403 403 403 403 403 302 login",
    ),
    Row(
        "followups:webhook_replay",
        ("webhook_delivery",),
        "403 403 403 403 403 403 405 login",
        "403 403 403 403 403 403 302 login",
    ),
)


# The API's reads, with a session login (DRF's SessionAuthentication; tokens are tested in
# tests/api): the same rules as the pages; nobody logged in gets the API's 401.
API_ROWS: tuple[Row, ...] = (
    Row("api_account_detail", ("account",), "200 200 200 404 404 404 200 401"),
    Row("api_contact_detail", ("contact",), "200 200 200 404 404 404 200 401"),
    Row("handoffs_api:deal-detail", ("deal",), "200 200 200 404 404 404 200 401"),
    Row("handoffs_api:promise-detail", ("promise",), "200 200 200 404 404 200 200 401"),
    Row("handoffs_api:handoff-detail", ("handoff",), "200 200 200 404 404 200 200 401"),
    Row("handoffs_api:handoff-step-detail", ("step",), "200 200 200 404 404 200 200 401"),
    Row("handoffs_api:meeting-detail", ("meeting",), "200 200 200 404 404 200 200 401"),
    Row("followups_api:checkin-detail", ("checkin",), "200 404 200 404 404 403 200 401"),
    Row("followups_api:outbox-message-detail", ("outbox_message",), "403 403 403 403 403 403 200 401"),
)
ROWS = ROWS + API_ROWS

# The URLs whose argument is a bearer token: what anyone gets with that token altered
# (its last characters changed), on GET.
TAMPERED_LINKS: dict[str, str] = {
    "handoffs:customer_status": "404",
    "followups:pulse_page": "400",
    "followups:pulse_answer": "400",
    "followups:pulse_opt_out": "400",
    "followups:calendar_feed": "404",
}


def markdown(routes: dict[str, str] | None = None) -> str:
    """The matrix as a Markdown table: one line per URL and method, with each URL's
    route when `routes` ({url name: route}) is given."""
    lines = [
        "| URL | name | method | " + " | ".join(COLUMN_TITLES) + " |",
        "|---|---|---|" + "---|" * len(COLUMNS),
    ]
    for row in ROWS:
        route = f"`/{routes[row.name]}`" if routes and row.name in routes else ""
        for method in ("get", "post"):
            line = row.get if method == "get" else row.post
            if line is not None:
                lines.append(f"| {route} | `{row.name}` | {method.upper()} | " + " | ".join(line.split()) + " |")
    lines += ["", *LEGEND]
    return "\n".join(lines)


LEGEND = (
    "200 the page · 302 done (redirected) · back: redirected back with an error message, nothing written · "
    "login: to the login page · 403 refused · 404 refused without telling whether it exists · "
    "405 method not allowed · 400/401/410 bad, unsigned or dead link.",
    "The objects belong to a rep of the Sales team (the owner); the delivery lead owns the hand-off. "
    "A refused request writes nothing (tests/test_access_matrix.py checks every cell).",
)


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from tests.security.routes import urls_with_object_arguments

    print(markdown(urls_with_object_arguments()))
