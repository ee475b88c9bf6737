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
from accounts.common.expressions import InIdList, InSubquery
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


def accounts_visible_to(user: User, *, deal_accounts_as_list: bool = False) -> QuerySet[Account]:
    """Every account `user` may read (a queryset to filter further).

    With `deal_accounts_as_list`, the accounts of the deals in the user's scope are read
    once here (one query, a few thousand ids) and sent as a list, instead of a subquery
    that PostgreSQL evaluates again in every query of the result (a list page's COUNT
    and its page)."""
    accounts = Account.objects.all()
    if not is_active_user(user):
        return accounts.none()
    if user.is_admin_role:
        return accounts
    if user.is_delivery:
        involved = Handoff.objects.filter(deal__account=OuterRef("pk")).filter(_handed_to_user(user))
        return accounts.filter(Q(owner=user) | Exists(involved))
    scope = team_scope_ids(user)
    # As for deals: each arm on the account's own columns or an id list computed once,
    # so PostgreSQL combines indexes (BitmapOr) instead of scanning every account. The
    # deals that open an account are the user's and their teams' by the deal's own
    # team, not held_by's wider "owned by a member" (issue 3 as it shipped).
    deals_in_scope = Deal.objects.filter(Q(owner=user) | Q(team_id__in=scope)).order_by().values("account_id")
    if deal_accounts_as_list:
        deal_account_ids = list(deals_in_scope.distinct().values_list("account_id", flat=True))
        of_deals = InIdList("pk", deal_account_ids)
    else:
        of_deals = InSubquery("pk", deals_in_scope)
    visible = held_by(user, scope) | of_deals
    if scope and user.is_manager:
        handed = _handed_to_members(team_member_ids(scope)).values("deal__account_id")
        visible |= InSubquery("pk", handed)
    return accounts.filter(visible)


def deals_visible_to(user: User) -> QuerySet[Deal]:
    """Every deal `user` may read (a queryset to filter further)."""
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
        visible |= InSubquery("pk", _handed_to_members(team_member_ids(scope)).values("deal_id"))
    return deals.filter(visible)


def handoffs_visible_to(user: User, *, of_deals: Q | None = None) -> QuerySet[Handoff]:
    """Every hand-off `user` may read (a queryset to filter further).

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
        return _handoffs_visible_to(user)
    if user.is_delivery:
        matching = Deal.objects.filter(of_deals).order_by().values("pk")
        return Handoff.objects.filter(_handed_to_user(user) & Q(deal_id__in=matching))
    matching_visible = deals_visible_to(user).filter(of_deals).order_by().values("pk")
    return Handoff.objects.filter(InSubquery("deal_id", matching_visible))


def _handoffs_visible_to(user: User) -> QuerySet[Handoff]:
    """handoffs_visible_to without a filter on the deals (an active user)."""
    if user.is_admin_role:
        return Handoff.objects.all()
    if user.is_delivery:
        return Handoff.objects.filter(_handed_to_user(user))
    scope = team_scope_ids(user)
    # `= ANY(ARRAY(members))`: the members are read once and the deal indexes on owner
    # and team answer the OR (a BitmapOr); the deal ids are then hashed once.
    team_deals = Deal.objects.filter(held_by(user, scope))
    visible = Q(deal_id__in=team_deals.order_by().values("pk"))
    if scope and user.is_manager:
        visible |= _handed_to(team_member_ids(scope))
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
