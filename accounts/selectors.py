"""Reads of the accounts app that do not need the apps above it.

Who may *see* an account also depends on hand-offs (a delivery lead reads the accounts
they are proposed for), so that rule lives in handoffs.selectors.accounts; who may
*change* an account depends only on ownership and teams, so it lives here, where the
account services can enforce it.
"""

from __future__ import annotations

from accounts.models import Account, Team, User


def team_scope_ids(user: User) -> set[int]:
    """The teams whose records the user reads as "their team's": their own team, plus
    every team they manage (a manager may lead a team they are not a member of)."""
    scope = {user.team_id} if user.team_id else set()
    if user.is_manager:
        scope |= set(Team.objects.filter(manager=user).values_list("pk", flat=True))
    return scope


def account_editable_by(user: User, account: Account, *, scope: set[int] | None = None) -> bool:
    """Reps change the accounts they own; managers their team's; admins every one.
    Delivery leads only read (issue 3), even the accounts they own."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_admin_role:
        return True
    if user.is_rep:
        return account.owner_id == user.pk
    if user.is_manager:
        scope = team_scope_ids(user) if scope is None else scope
        return account.owner_id == user.pk or account.team_id in scope
    return False


def account_users_assignable_by(user: User):
    """The users an actor may make the owner of an account or a deal: admins anyone
    active, managers the members of their teams, reps only themselves."""
    active = User.objects.filter(is_active=True)
    if user.is_admin_role:
        return active
    if user.is_manager:
        return active.filter(team_id__in=team_scope_ids(user))
    return active.filter(pk=user.pk)
