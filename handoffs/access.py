"""Who may see and change deals, hand-offs and the customer accounts they make
visible (issue 3). Built on accounts/access.py (teams, roles, records held by a user or
their teams); the selectors, services and views of handoffs all ask here.

Reading:
- deals: reps their own and their team's; managers their teams' (a delivery manager
  also the deals their delivery leads are handed); delivery leads the deals of the
  accounts they read; admins every deal.
- hand-offs: the same rule written on the hand-off's own columns: those of the deals of
  the user's team, for managers also those proposed to or owned by their team's
  delivery leads; delivery leads those proposed to or owned by them; admins all.
- accounts: reps the accounts they own, their team's, and those where they or their
  team have a deal; managers their teams' (a delivery manager also the accounts their
  delivery leads are proposed for or own); delivery leads the accounts they own or are
  proposed for; admins every account.

Changing:
- a deal (edit, move, close, contacts, promises): reps their own, managers their teams',
  admins all, delivery leads none; reopening a closed one: its managers and admins.
- a hand-off: managing it (proposing owners, steering) is for admins and the managers
  of its team or of its proposed or accepted owner; working it (steps, the meeting) also
  for its rep and delivery owner; answering a proposal for the proposed lead only.
- a promise through delivery (mark it kept or broken, renegotiate it, give it an owner,
  add one after the hand-off): user_may_work_promise — its delivery owner, the
  hand-off's delivery owner, the rep, the managers of any of them, admins.

Who may change an account is accounts.access.account_editable_by.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.access import (
    held_by,
    is_active_user,
    manages_team,
    may_change_held,
    team_member_ids,
    team_scope_ids,
)
from accounts.common.expressions import InIdList, InSubquery, id_list
from accounts.models import Account, User
from handoffs.choices import HandoffStatus
from handoffs.models import Deal, Handoff, HandoffStep, Promise

# --- reading -------------------------------------------------------------------------


def _handed_to_user(user: User) -> Q:
    """Hand-offs proposed to or owned by `user` (on the hand-off's own columns)."""
    return Q(proposed_owner=user) | Q(delivery_owner=user)


def _handed_to(people: QuerySet[User]) -> Q:
    """Hand-offs proposed to or owned by one of `people` (a subquery of user ids): what
    a manager of their team also sees (the hand-off, its deal and its account)."""
    return InSubquery("proposed_owner_id", people) | InSubquery("delivery_owner_id", people)


def _handed_to_members(members: QuerySet[User]) -> QuerySet[Handoff]:
    return Handoff.objects.filter(_handed_to(members)).order_by()


def accounts_visible_to(user: User, *, deal_accounts_as_list: bool = False, pk: int | None = None) -> QuerySet[Account]:
    """Every account `user` may read (a queryset to filter further).

    With `deal_accounts_as_list`, the ids of the accounts `user` may read are read once
    here (one query, a few thousand ids) and sent as a list, instead of subqueries that
    PostgreSQL evaluates again in every query of the result (a list page's COUNT and its
    page).

    With `pk`, only that account, if `user` may read it (an account's own pages): whether
    one of its deals is in the user's scope is then asked of that account's few deals
    (a correlated EXISTS on the deal account index), not of every deal of the scope."""
    accounts = Account.objects.all() if pk is None else Account.objects.filter(pk=pk)
    if not is_active_user(user):
        return accounts.none()
    if user.is_admin_role:
        return accounts
    if user.is_delivery:
        if pk is not None:
            involved = Handoff.objects.filter(deal__account=OuterRef("pk")).filter(_handed_to_user(user))
            return accounts.filter(Q(owner=user) | Exists(involved))
        # The accounts of what they were handed, read once: their hand-offs through the
        # owner indexes, then those deals by id (a join read every deal). As a correlated
        # EXISTS over every account, PostgreSQL priced the list's COUNT at a million and
        # compiled it (JIT): 130-400 ms at 20k accounts.
        handed_deals = Handoff.objects.filter(_handed_to_user(user)).order_by().values("deal_id")
        handed_to_them = (
            Deal.objects.filter(InSubquery("pk", handed_deals)).order_by().values_list("account_id", flat=True)
        )
        if deal_accounts_as_list:
            owned = Account.objects.filter(owner=user).order_by().values_list("pk", flat=True)
            return accounts.filter(InIdList("pk", id_list(owned.union(handed_to_them))))
        return accounts.filter(Q(owner=user) | InSubquery("pk", handed_to_them))
    scope = team_scope_ids(user)
    # As for deals: each arm on the account's own columns or an id list computed once,
    # so PostgreSQL combines indexes (BitmapOr) instead of scanning every account. The
    # deals that open an account are the user's and their teams' by the deal's own
    # team, not held_by's wider "owned by a member" (issue 3 as it shipped).
    held = held_by(user, scope)
    handed = None
    if scope and user.is_manager:
        handed = _handed_to_members(team_member_ids(scope)).values_list("deal__account_id", flat=True)
    if pk is not None:
        in_scope = Q(owner=user) | Q(team_id__in=scope) if scope else Q(owner=user)
        visible = held | Exists(Deal.objects.filter(in_scope, account_id=OuterRef("pk")))
        return accounts.filter(visible if handed is None else visible | InSubquery("pk", handed))
    # The accounts of the deals in scope: one arm per column, each an index-only scan of
    # an index that carries the account (deal_owner_account_idx, deal_team_account_idx).
    # The OR of the two in one query was a bitmap heap scan of every deal page of the
    # team (~15 ms for 17k deals at 100k deals, on every load of an account page).
    deals = Deal.objects.order_by()
    deal_arms = [deals.filter(owner=user).values_list("account_id", flat=True)]
    if scope:
        deal_arms.append(deals.filter(team_id__in=scope).values_list("account_id", flat=True))
    if deal_accounts_as_list:
        # Every arm as one UNION of ids: the queries of the result then filter on that
        # list alone (a hashed `id = ANY(...)`), which the (name, id) index answers for
        # a page in name order.
        arms = [Account.objects.filter(held).order_by().values_list("pk", flat=True), *deal_arms]
        ids = arms[0].union(*arms[1:], *([handed] if handed is not None else []))
        return accounts.filter(InIdList("pk", id_list(ids)))
    deal_accounts = deal_arms[0].union(*deal_arms[1:])
    visible = held | InSubquery("pk", deal_accounts)
    return accounts.filter(visible if handed is None else visible | InSubquery("pk", handed))


def deals_visible_to(user: User, *, ordered_walk: bool = False) -> QuerySet[Deal]:
    """Every deal `user` may read (a queryset to filter further).

    A manager's hand-offs arm (the deals handed to their team's delivery leads, ~15k at
    100k deals for a delivery team) has two SQL shapes, and each wins in other plans:

    - by default an id array (`id = ANY(ARRAY(...))`, InSubquery), which the planner
      combines with other indexes and checks on the rows another filter kept: the
      search's trigram matches, or another table's rows asked "is your deal visible?"
      (`promise.deal_id IN (...)`). As a hashed IN there, PostgreSQL joined every
      promise with every visible deal: the promise API 87 ms against 1.2 ms.
    - with `ordered_walk`, a hashed IN, for a query over the deal table that walks the
      deals in an order (the deal lists, their counts, the deal API): the array was
      compared element by element with each row the ordered scan passed (258 ms for a
      delivery manager's deal list, 22 ms hashed). A sales team's members hold no
      hand-offs: its managers' plans are the same either way."""
    deals = Deal.objects.all()
    if not is_active_user(user):
        return deals.none()
    if user.is_admin_role:
        return deals
    if user.is_delivery:
        return deals.filter(account__in=accounts_visible_to(user).values("pk"))
    scope = team_scope_ids(user)
    # A deal's team is its owner's team when it was opened or handed over; the owner's
    # current team still counts (someone who changed team): accounts.access.held_by.
    visible = held_by(user, scope)
    if scope and user.is_manager:
        handed = _handed_to_members(team_member_ids(scope)).values("deal_id")
        visible |= Q(pk__in=handed) if ordered_walk else InSubquery("pk", handed)
    return deals.filter(visible)


def deals_of_teams_visible_to(user: User) -> QuerySet[Deal]:
    """The deals of `user`'s teams: a part of deals_visible_to(user) (held_by's team arm)
    that one index counts, for a list's capped count to stop early (CappedPaginator's
    cap_probe). A rep's or manager's full rule is an OR that PostgreSQL walks row by row
    (~12k deals to find 2,001, 6 ms); the team's deals alone are an index-only range
    (0.4 ms). None for admins (their count is one index walk already) and delivery
    leads (no team arm)."""
    if not is_active_user(user) or user.is_admin_role or user.is_delivery:
        return Deal.objects.none()
    scope = team_scope_ids(user)
    return Deal.objects.filter(team_id__in=scope) if scope else Deal.objects.none()


def deal_owners_visible_to(user: User) -> QuerySet[User]:
    """The owners of the deals `user` may read: the users of deals_visible_to(user)'s
    `owner_id`, for a list's owner filter.

    For reps and managers, the same rule asked from the users' side, one arm each: the
    user and their teams' members who own any deal, the owners of a deal of their teams
    (someone who left the team; one probe per user of the (team, owner) index), and for
    managers the owners of the deals handed to their delivery leads. The owners of the
    team's ~17k deals otherwise come from reading every one of those deals (~10 ms at
    100k deals, on each load of the deal list)."""
    users = User.objects.all()
    if not is_active_user(user):
        return users.none()
    if user.is_admin_role or user.is_delivery:
        # Every deal: a semi-join finds each user's first deal through the owner index;
        # a delivery lead's few deals: their distinct owners once.
        owner_ids = deals_visible_to(user).order_by().values("owner_id")
        return users.filter(pk__in=owner_ids) if user.is_admin_role else users.filter(InSubquery("pk", owner_ids))
    scope = team_scope_ids(user)
    owns_a_deal = Exists(Deal.objects.filter(owner_id=OuterRef("pk")))
    if not scope:
        return users.filter(Q(pk=user.pk) & owns_a_deal)
    visible = (Q(pk=user.pk) | Q(team_id__in=scope)) & owns_a_deal
    visible |= Exists(Deal.objects.filter(owner_id=OuterRef("pk"), team_id__in=scope))
    if user.is_manager:
        # A hashed IN, as in deals_visible_to: ~15k owner ids (one per handed deal) as an
        # array were compared element by element with each user.
        visible |= Q(pk__in=_handed_to_members(team_member_ids(scope)).values("deal__owner_id"))
    return users.filter(visible)


def handoffs_visible_to(user: User, *, of_deals: Q | None = None, per_row: bool = False) -> QuerySet[Handoff]:
    """Every hand-off `user` may read (a queryset to filter further).

    With `per_row`, the same rule shaped for reading one hand-off (or a few) by id: the
    deal's part is a correlated EXISTS on the deal's primary key, checked on the rows
    the other filters keep, where the list's shape first hashes every deal id the user's
    teams hold (~34k for a manager at 100k deals, ~10 ms on each detail page and action).

    The same rule as deals_visible_to, written on the hand-off's own columns: its deal
    among the deals the user's team holds (`deal_id IN (...)`, answered by the deal
    indexes on owner and team and hashed once), and for managers the hand-offs proposed
    to or owned by their team's delivery leads. No join, no subquery per deal, so the
    paginator's COUNT is one scan of the hand-off table.

    With `of_deals` (a filter on Deal, e.g. the global search's words), only the
    hand-offs of the deals it matches. A deal has at most one hand-off, and those a
    manager sees through their delivery leads are the deals deals_visible_to opens
    through them, so for everyone but a delivery lead (who sees what they were handed)
    this is "the hand-offs of the visible deals that match": one id array (`deal_id = ANY(...)`) whose deals the visibility's and
    the filter's indexes find together (a BitmapAnd), fed to the hand-off's unique
    deal_id index. Filtering the full rule's result instead joins every visible
    hand-off to its deal first (~60 ms at 100k deals)."""
    if not is_active_user(user):
        return Handoff.objects.none()
    if of_deals is None:
        return _handoffs_visible_to(user, per_row=per_row)
    if user.is_delivery:
        matching = Deal.objects.filter(of_deals).order_by().values("pk")
        return Handoff.objects.filter(_handed_to_user(user) & Q(deal_id__in=matching))
    matching_visible = deals_visible_to(user).filter(of_deals).order_by().values("pk")
    return Handoff.objects.filter(InSubquery("deal_id", matching_visible))


def handoffs_of_teams_visible_to(user: User) -> QuerySet[Handoff]:
    """The hand-offs of the deals of `user`'s teams: a part of handoffs_visible_to(user)
    that indexes alone find (the team's deals by deals_of_teams_visible_to's index, each
    one's hand-off by the unique deal index), for the list's capped count to stop early
    (CappedPaginator's cap_probe): ~6 ms to find 2,001 for a sales manager, where the
    full rule hashes the ~34k deal ids of the team first (~15 ms)."""
    return Handoff.objects.filter(deal__in=deals_of_teams_visible_to(user).values("pk"))


def _handoffs_visible_to(user: User, *, per_row: bool) -> QuerySet[Handoff]:
    """handoffs_visible_to without a filter on the deals (an active user)."""
    if user.is_admin_role:
        return Handoff.objects.all()
    if user.is_delivery:
        return Handoff.objects.filter(_handed_to_user(user))
    scope = team_scope_ids(user)
    if per_row:
        visible = Exists(Deal.objects.filter(pk=OuterRef("deal_id")).filter(held_by(user, scope)))
        if scope and user.is_manager:
            visible |= _handed_to(team_member_ids(scope))
        return Handoff.objects.filter(visible)
    # held_by(user, scope) on the hand-off's deal, written as a UNION ALL of its arms
    # (owned by the user, of a team in scope, owned by a member): each arm's deal ids come
    # from an index-only scan of an index that carries the id (deal_owner_created_idx,
    # deal_team_created_idx) and the union is hashed once. The OR of the arms in one
    # subquery was a bitmap heap scan of every deal page (~16 ms for a manager's 17k
    # deals, on every load of the list). For managers, also the hand-offs handed to
    # their members: a plain IN is hashed once, where `= ANY(ARRAY(members))` searched
    # the members linearly for each of the 60k rows the paginator counts.
    deals = Deal.objects.order_by()
    deal_ids = deals.filter(owner=user).values("pk")
    if scope:
        members = team_member_ids(scope)
        deal_ids = deal_ids.union(
            deals.filter(team_id__in=scope).values("pk"), deals.filter(owner_id__in=members).values("pk"), all=True
        )
    visible = Q(deal_id__in=deal_ids)
    if scope and user.is_manager:
        visible |= Q(proposed_owner_id__in=members) | Q(delivery_owner_id__in=members)
    return Handoff.objects.filter(visible)


# --- deals ---------------------------------------------------------------------------


def deal_editable_by(user: User, deal: Deal, *, scope: set[int] | None = None) -> bool:
    """Whether `user` may change `deal` (edit, move, close, add contacts and promises):
    accounts.access.may_change_held. `scope` saves re-reading the user's teams for
    each card of a board."""
    return may_change_held(user, owner_id=deal.owner_id, team_id=deal.team_id, scope=scope)


def deal_reopenable_by(user: User, deal: Deal) -> bool:
    """Reopening a closed deal is for the managers who may change it, and admins."""
    return (user.is_manager or user.is_admin_role) and deal_editable_by(user, deal)


# --- hand-offs -----------------------------------------------------------------------


def user_may_manage_handoff(user: User, handoff: Handoff) -> bool:
    """Admins, the manager of the deal's team, and the delivery manager of the proposed
    or accepted owner may propose owners and steer the hand-off."""
    if user.is_admin_role:
        return True
    if manages_team(user, handoff.team_id):
        return True
    for person in (handoff.proposed_owner, handoff.delivery_owner):
        if person is not None and manages_team(user, person.team_id):
            return True
    return False


def user_may_propose_owner(user: User, handoff: Handoff) -> bool:
    """Whoever manages the hand-off; also its rep where the organisation lets reps
    propose (settings.BATON_REPS_MAY_PROPOSE_OWNER)."""
    if user_may_manage_handoff(user, handoff):
        return True
    return settings.BATON_REPS_MAY_PROPOSE_OWNER and user.pk == handoff.rep_id


def user_may_work_handoff(user: User, handoff: Handoff) -> bool:
    """Who may tick steps and run the meeting: the rep, the delivery owner, their managers."""
    return user.pk in (handoff.rep_id, handoff.delivery_owner_id) or user_may_manage_handoff(user, handoff)


def user_may_work_step(user: User, step: HandoffStep, handoff: Handoff) -> bool:
    """A step: whoever may work its hand-off, and the step's own assignee."""
    return user_may_work_handoff(user, handoff) or user.pk == step.assignee_id


def user_may_complete_handoff(user: User, handoff: Handoff) -> bool:
    """Completing the hand-off: its delivery owner, or whoever manages it."""
    return user.pk == handoff.delivery_owner_id or user_may_manage_handoff(user, handoff)


def user_may_answer_proposal(user: User, handoff: Handoff) -> bool:
    """Accepting or declining: only the delivery lead it is proposed to, while it waits."""
    return handoff.status == HandoffStatus.OWNER_PROPOSED and handoff.proposed_owner_id == user.pk


# --- promises ------------------------------------------------------------------------


def user_may_work_promise(
    user: User,
    *,
    deal: Deal,
    handoff: Handoff | None,
    promise: Promise | None = None,
    scope: set[int] | None = None,
) -> bool:
    """Who may work a deal's promises through delivery — mark one kept or broken,
    renegotiate it, give it an owner — and add one after the hand-off (`promise` None):
    the promise's delivery owner, the hand-off's delivery owner, the rep, the managers
    of the teams of any of them (and of the deal's team), admins. Before the close this
    is the deal's rep and managers, as for any change of the deal.

    Reads only the columns and the users already loaded with the deal, the hand-off and
    the promise (select_related them); `scope`, the user's teams, saves re-reading them
    for each row of a page."""
    if not is_active_user(user):
        return False
    if user.is_admin_role:
        return True
    people = [deal.owner, promise.owner if promise else None]
    if handoff is not None:
        people += [handoff.rep, handoff.delivery_owner]
    if any(person is not None and person.pk == user.pk for person in people):
        return True
    if not user.is_manager:
        return False
    scope = team_scope_ids(user) if scope is None else scope
    teams = {deal.team_id, handoff.team_id if handoff is not None else None}
    teams |= {person.team_id for person in people if person is not None}
    return bool(teams & scope)


# --- imports -------------------------------------------------------------------------


def user_may_import(user: User) -> bool:
    """Importing a CSV of accounts, contacts and deals (handoffs.imports) is for managers,
    into their teams, and admins, into any team."""
    return is_active_user(user) and (user.is_manager or user.is_admin_role)


def import_jobs_visible_q(user: User) -> Q:
    """The imports `user` may see in the history and follow: admins all, managers those
    they made and those of their teams; nobody else any (a filter on ImportJob)."""
    if not user_may_import(user):
        return Q(pk__in=[])
    if user.is_admin_role:
        return Q()
    scope = team_scope_ids(user)
    return Q(created_by=user) | Q(team_id__in=scope) if scope else Q(created_by=user)
