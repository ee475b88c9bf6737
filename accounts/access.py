"""Who may see and change what, as far as the accounts app alone can tell: roles, teams,
and customer accounts by who owns them (issue 3).

- Pages by role: `role_required` (admins pass every role check).
- A user's teams: their own, plus every team they manage (`team_scope_ids`).
- Changing an owned record (an account here, a deal in handoffs): reps what they own,
  managers also their teams', admins everything; delivery leads nothing, even what they
  own (`may_change_held`, `account_editable_by`).
- Reading: what the user or their teams hold (`held_by`). Who may *read* an account
  also depends on its deals and hand-offs (a rep reads the accounts they have a deal
  on, a delivery lead those they are proposed for), so that rule is in
  handoffs/access.py, built on these; check-ins and the report are in followups/access.py.

Views call these; services re-check the ones that guard state changes, so a crafted
request cannot skip them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse

from accounts.choices import Role
from accounts.common.expressions import InSubquery
from accounts.models import Account, Team, User

# --- roles ---------------------------------------------------------------------------


def is_active_user(user: User) -> bool:
    """Only a logged-in user whose account is active may see or change anything."""
    return user.is_authenticated and user.is_active


def has_role(user, roles: Iterable[str]) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or user.role in set(roles)


def role_required(*roles: str) -> Callable:
    """Login required, then 403 unless the user has one of `roles` (admins always pass)."""
    allowed = set(roles) | {Role.ADMIN}

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not has_role(request.user, allowed):
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def user_sells(user: User) -> bool:
    """Reps, managers and admins create accounts and open deals; delivery leads take
    over customers after the sale and open neither."""
    return user.is_rep or user.is_manager or user.is_admin_role


def user_may_reassign(user: User) -> bool:
    """Managers and admins give an account or a deal to someone else; a rep keeps what
    they own (see account_users_assignable_by for to whom)."""
    return user.is_manager or user.is_admin_role


# --- teams ---------------------------------------------------------------------------


def team_scope_ids(user: User) -> set[int]:
    """The teams whose records the user reads as "their team's": their own team, plus
    every team they manage (a manager may lead a team they are not a member of)."""
    scope = {user.team_id} if user.team_id else set()
    if user.is_manager:
        scope |= set(Team.objects.filter(manager=user).values_list("pk", flat=True))
    return scope


def team_member_ids(scope: set[int]) -> QuerySet[User]:
    """The ids of the users of the teams in `scope` (a subquery)."""
    return User.objects.filter(team_id__in=scope).order_by().values("pk")


def manages_team(user: User, team_id: int | None) -> bool:
    """Whether `user` is a manager and the team is one of theirs (team_scope_ids)."""
    return team_id is not None and user.is_manager and team_id in team_scope_ids(user)


def account_users_assignable_by(user: User) -> QuerySet[User]:
    """The users an actor may make the owner of an account or a deal: admins anyone
    active, managers the members of their teams, reps only themselves."""
    active = User.objects.filter(is_active=True)
    if user.is_admin_role:
        return active
    if user.is_manager:
        return active.filter(team_id__in=team_scope_ids(user))
    return active.filter(pk=user.pk)


# --- records held by a user or their teams (accounts, deals) ----------------------------


def held_by(user: User, scope: set[int]) -> Q:
    """A filter on a record with an owner and a team (an account, a deal): owned by the
    user, of a team in `scope`, or owned by a member of one (who may have changed team
    since). Each arm is on the record's own columns, so PostgreSQL answers the OR with a
    BitmapOr of indexes instead of joining the users to every row."""
    held = Q(owner=user)
    if scope:
        held |= Q(team_id__in=scope) | InSubquery("owner_id", team_member_ids(scope))
    return held


def may_change_held(user: User, *, owner_id: int, team_id: int | None, scope: set[int] | None = None) -> bool:
    """Whether `user` may change a record owned by `owner_id` for the team `team_id`:
    reps what they own, managers also their teams' (`scope`, read when not given),
    admins everything; delivery leads nothing, even what they own."""
    if not is_active_user(user):
        return False
    if user.is_admin_role:
        return True
    if user.is_rep:
        return owner_id == user.pk
    if user.is_manager:
        scope = team_scope_ids(user) if scope is None else scope
        return owner_id == user.pk or team_id in scope
    return False


def account_editable_by(user: User, account: Account, *, scope: set[int] | None = None) -> bool:
    """Whether `user` may change the account's details and contacts (may_change_held)."""
    return may_change_held(user, owner_id=account.owner_id, team_id=account.team_id, scope=scope)


def user_may_reassign_holdings_of(actor: User, person: User) -> bool:
    """Whether `actor` may see and reassign everything `person` holds: admins, and the
    manager of the person's team (accounts.access.manages_team). Nobody reassigns their
    own work this way."""
    if not is_active_user(actor) or actor.pk == person.pk:
        return False
    return actor.is_admin_role or manages_team(actor, person.team_id)
