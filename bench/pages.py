"""The pages `make bench` measures: one place, in the order they run.

Each page names its URL, the role of the bench user who loads it, and how to build its
URL arguments for a given user (detail pages pick objects that user may see). A page
whose URL name does not exist yet is reported as "not built", never dropped. Later
issues add their pages here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from accounts.choices import Role
from accounts.models import User

# How many different objects a detail page cycles through, per bench user.
DETAIL_VARIANTS = 20

ArgsBuilder = Callable[[User], list[tuple]]


def no_args(user: User) -> list[tuple]:
    return [()]


def own_deals(user: User) -> list[tuple]:
    from handoffs.models import Deal

    ids = Deal.objects.filter(owner=user).order_by("-created_at", "-id").values_list("id", flat=True)
    return [(pk,) for pk in ids[:DETAIL_VARIANTS]]


def accounts_of_own_deals(user: User) -> list[tuple]:
    from accounts.models import Account

    ids = (
        Account.objects.filter(deals__owner=user)
        .distinct()
        .order_by("id")
        .values_list("id", flat=True)[:DETAIL_VARIANTS]
    )
    return [(pk,) for pk in ids]


def owned_handoffs(user: User) -> list[tuple]:
    from handoffs.models import Handoff

    ids = Handoff.objects.filter(delivery_owner=user).order_by("-closed_on", "-id").values_list("id", flat=True)
    return [(pk,) for pk in ids[:DETAIL_VARIANTS]]


def reps_of_managed_teams(user: User) -> list[tuple]:
    """Reps whose open work the (manager) user may see: members of the teams they manage."""
    from accounts.access import team_scope_ids

    ids = (
        User.objects.filter(team_id__in=team_scope_ids(user), role=Role.REP, is_active=True)
        .exclude(pk=user.pk)
        .order_by("id")
        .values_list("id", flat=True)
    )
    return [(pk,) for pk in ids[:DETAIL_VARIANTS]]


def customer_status_tokens(user: User) -> list[tuple]:
    """Status-link tokens of the contacts of the (delivery) user's hand-offs, as the
    customer summary e-mail carries them: only pairs whose link is valid now."""
    from handoffs.models import DealContact, Handoff
    from handoffs.selectors.handoffs import customer_link_versions, customer_status_token

    deal_to_handoff = dict(
        Handoff.objects.filter(delivery_owner=user).order_by("-closed_on", "-id").values_list("deal_id", "id")[:100]
    )
    pairs = DealContact.objects.filter(deal_id__in=deal_to_handoff).order_by("id").values_list("deal_id", "contact_id")
    versions = customer_link_versions((deal_to_handoff[deal_id], contact_id) for deal_id, contact_id in pairs)
    return [
        (customer_status_token(handoff_id=handoff_id, contact_id=contact_id, version=version),)
        for (handoff_id, contact_id), version in sorted(versions.items())[:DETAIL_VARIANTS]
    ]


def all_drops(user: User) -> list[tuple]:
    return [("all",)]


def missed_check_in_drops(user: User) -> list[tuple]:
    return [("missed_check_in",)]


@dataclass(frozen=True)
class BenchPage:
    """One measured page: `label` names it in the results."""

    label: str
    url_name: str
    role: str
    args: ArgsBuilder = no_args
    query_string: str = ""
    is_ceiling: bool = False
    notes: str = field(default="", compare=False)


CEILING = BenchPage("ceiling (trivial logged-in view)", "accounts:ping", Role.REP, is_ceiling=True)

PAGES: list[BenchPage] = [
    CEILING,
    BenchPage("my day", "handoffs:my_day", Role.REP),
    BenchPage("deal list (rep)", "handoffs:deal_list", Role.REP),
    BenchPage("deal list (manager, team)", "handoffs:deal_list", Role.MANAGER),
    BenchPage("deal list (admin, all deals)", "handoffs:deal_list", Role.ADMIN),
    BenchPage("deal search ?q=", "handoffs:deal_list", Role.MANAGER, query_string="q=Globex"),
    BenchPage("pipeline board", "handoffs:board", Role.REP),
    BenchPage("deal detail", "handoffs:deal_detail", Role.REP, args=own_deals),
    BenchPage("account list", "handoffs:account_list", Role.REP),
    BenchPage("account detail", "handoffs:account_detail", Role.REP, args=accounts_of_own_deals),
    BenchPage("hand-off list (manager)", "handoffs:handoff_list", Role.MANAGER),
    BenchPage("my hand-offs", "handoffs:my_handoffs", Role.DELIVERY),
    BenchPage("hand-off detail", "handoffs:handoff_detail", Role.DELIVERY, args=owned_handoffs),
    BenchPage("my check-ins", "followups:my_checkins", Role.REP),
    BenchPage("manager dashboard", "followups:dashboard", Role.MANAGER),
    BenchPage("dropped-baton report", "followups:report", Role.MANAGER),
    # The reminders went into the one outbox (e-mail, reminders, webhooks): its admin page.
    BenchPage("outbox admin", "followups:outbox_admin", Role.ADMIN),
    # The API's main lists (JSON, first cursor page of 50), read with the same logged-in
    # session as the pages: SessionAuthentication answers GETs without a CSRF token.
    BenchPage("API deals (rep)", "handoffs_api:deal-list", Role.REP),
    BenchPage("API deals (manager, team)", "handoffs_api:deal-list", Role.MANAGER),
    BenchPage("API hand-offs (manager)", "handoffs_api:handoff-list", Role.MANAGER),
    BenchPage("API promises (manager)", "handoffs_api:promise-list", Role.MANAGER),
    BenchPage("API check-ins (rep)", "followups_api:checkin-list", Role.REP),
    BenchPage(
        "API check-ins overdue (manager)", "followups_api:checkin-list", Role.MANAGER, query_string="overdue=true"
    ),
]

# Global search (issue 16): what people type into the top bar's box, against the seeded
# names as the first bench users (team 1) see them: accounts "Gringotts Media 41",
# contacts "Anna Rossi" (~2,800 of the team's), deals "Data migration — …" (one in
# eight), "wa" (a two-letter word: the start of "Wayne"), and a typo matching nothing.
# Other teams see other company names: with BENCH_USERS > 1 some users find no company.
SEARCH_QUERIES = [
    ("company prefix", "Gring"),
    ("contact surname", "Rossi"),
    ("deal title word", "migration"),
    ("2 letters", "wa"),
    ("no match", "zephyr"),
]


def search_pages() -> list[BenchPage]:
    """The dropdown (`partial=1`, as the box asks while the user types) and the full page,
    as a rep and as a manager, for each of SEARCH_QUERIES."""
    pages = []
    for query_name, query in SEARCH_QUERIES:
        for role, role_name in ((Role.REP, "rep"), (Role.MANAGER, "manager")):
            pages.append(
                BenchPage(
                    f"search dropdown ({role_name}) {query_name}",
                    "handoffs:search",
                    role,
                    query_string=f"q={query}&partial=1",
                )
            )
            pages.append(
                BenchPage(f"search page ({role_name}) {query_name}", "handoffs:search", role, query_string=f"q={query}")
            )
    return pages


PAGES += search_pages()

# Every other page a signed-in user reaches that reads a list or aggregates rows (issue
# 17: "including the pages the earlier issues add"). The promise ledger is a card of the
# account page ("account detail" above measures it).
PAGES += [
    BenchPage("notifications", "followups:notifications", Role.REP),
    BenchPage("notification bell", "followups:bell", Role.REP),
    BenchPage("report drill-down (all drops)", "followups:report_drilldown", Role.MANAGER, args=all_drops),
    BenchPage(
        "report drill-down (open, one code)",
        "followups:report_drilldown",
        Role.MANAGER,
        args=missed_check_in_drops,
        query_string="open=1",
    ),
    BenchPage("open work (manager)", "followups:open_work", Role.MANAGER, args=reps_of_managed_teams),
    BenchPage("import history", "handoffs:import_list", Role.ADMIN),
    BenchPage("people admin", "people:list", Role.ADMIN),
    BenchPage("teams admin", "people:team_list", Role.ADMIN),
    BenchPage("audit log", "people:audit_log", Role.ADMIN),
    BenchPage("webhook admin", "followups:webhook_list", Role.ADMIN),
    BenchPage("inbound admin", "handoffs:inbound_admin", Role.ADMIN),
    BenchPage("playbooks", "handoffs:playbook_list", Role.ADMIN),
    BenchPage("profile", "accounts:profile", Role.REP),
    BenchPage("customer status (token link)", "handoffs:customer_status", Role.DELIVERY, args=customer_status_tokens),
    BenchPage("API schema", "api_schema", Role.REP),
    BenchPage("API docs", "api_docs", Role.REP),
]


def bench_users(role: str, count: int) -> list[User]:
    """The first `count` bench users of a role (bench_rep_1, bench_rep_2, …)."""
    users = list(User.objects.filter(username__startswith=f"bench_{role}_", is_active=True))
    users.sort(key=lambda user: int(user.username.rsplit("_", 1)[1]))
    return users[:count]
