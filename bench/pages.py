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
    BenchPage("reminder admin", "followups:reminder_admin", Role.ADMIN),
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


def bench_users(role: str, count: int) -> list[User]:
    """The first `count` bench users of a role (bench_rep_1, bench_rep_2, …)."""
    users = list(User.objects.filter(username__startswith=f"bench_{role}_", is_active=True))
    users.sort(key=lambda user: int(user.username.rsplit("_", 1)[1]))
    return users[:count]
