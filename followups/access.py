"""Who may see and work what in followups: check-ins, and the teams of the dropped-baton
report and the dashboard. Built on accounts/access.py; the selectors, services, views
and template tags of followups all ask here.

- Check-ins: a rep works their own; a manager also those of the reps of the teams they
  manage (as the team's manager, not as a member); an admin all. Anyone else's are
  invisible (404). Adding a check-in by hand to a hand-off follows the same rule on the
  hand-off's rep.
- The report and the dashboard: an admin reads every team's, a manager the teams they
  manage (else their own team); nobody else reads a report. A row belongs to a team by
  the columns each *_of_teams filter names.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.access import is_active_user
from accounts.choices import Role
from accounts.common.expressions import InSubquery
from accounts.models import Team, User
from followups.models import CheckIn
from handoffs.models import Handoff

# --- check-ins -----------------------------------------------------------------------


def _members_of_teams_managed_by(user: User) -> QuerySet[User]:
    """The members of the teams whose manager `user` is (a member of a team they do not
    manage is not among them)."""
    return User.objects.filter(team__manager=user)


def _rep_is_user_or_managed(user: User) -> Q:
    """On a row with a `rep` (a check-in, a hand-off): the user's own, or that of a
    member of a team they manage. On the row's own rep_id, as one `= ANY(ARRAY(...))` of
    the user and those members: the index on (rep, status, due_on) answers it alone (an
    index-only count), where `rep__team__manager` joined users and teams to every row and
    `rep = user OR rep_id = ANY(…)` needed a BitmapOr and the table's rows."""
    reps = User.objects.filter(Q(pk=user.pk) | Q(team__manager=user)).order_by().values("pk")
    return Q(InSubquery("rep_id", reps))


def checkins_of_rep_workable_by(user: User, rep: User) -> bool:
    """The check-in rule for one rep, in memory (the rep's team loaded): the rep
    themselves, the manager of the rep's team, an admin."""
    if not is_active_user(user):
        return False
    if user.is_admin_role or rep.pk == user.pk:
        return True
    return user.is_manager and rep.team is not None and rep.team.manager_id == user.pk


def checkins_workable_by(user: User) -> QuerySet[CheckIn]:
    """The check-ins `user` may log or reschedule: their own; a manager's also those of
    their team's members; an admin's all. Anyone else's are invisible (404)."""
    if not is_active_user(user):
        return CheckIn.objects.none()
    if user.is_admin_role:
        return CheckIn.objects.all()
    if user.is_manager:
        return CheckIn.objects.filter(_rep_is_user_or_managed(user))
    return CheckIn.objects.filter(rep=user)


def checkin_workable_in_memory(user: User, checkin: CheckIn) -> bool:
    """checkins_workable_by for one loaded check-in (its rep's team selected), without a
    query: for showing or hiding buttons. The views and services still use the queryset."""
    return checkins_of_rep_workable_by(user, checkin.rep)


def checkin_reps_for(user: User) -> QuerySet[User]:
    """The reps whose check-ins `user` may filter "My check-ins" by: a manager's team
    members, every rep for an admin, nobody else for a rep."""
    if user.is_admin_role:
        return User.objects.filter(role=Role.REP, is_active=True)
    if user.is_manager:
        return _members_of_teams_managed_by(user).filter(role=Role.REP, is_active=True)
    return User.objects.none()


def handoffs_checkins_addable_by(user: User) -> Q:
    """A filter on hand-offs: those to whose rep `user` may add a check-in by hand
    (checkins_of_rep_workable_by on the hand-off's rep)."""
    if user.is_admin_role:
        return Q()
    if user.is_manager:
        return _rep_is_user_or_managed(user)
    return Q(rep=user)


def user_may_add_checkin(user: User, handoff: Handoff) -> bool:
    """handoffs_checkins_addable_by for one loaded hand-off (its rep's team selected)."""
    return checkins_of_rep_workable_by(user, handoff.rep)


# --- the dropped-baton report and the dashboard ------------------------------------------


def report_allowed_teams(user: User) -> QuerySet[Team]:
    """The teams whose report the user may read: an admin all, a manager the teams they
    manage (else their own team). Anyone else may read no report (PermissionDenied)."""
    if user.is_admin_role:
        return Team.objects.all()
    if not user.is_manager:
        raise PermissionDenied("Only managers and admins see the dropped-baton report.")
    managed = Team.objects.filter(manager=user)
    if managed.exists():
        return managed
    return Team.objects.filter(pk=user.team_id)


def report_team_ids(user: User, *, team_id: int | None = None) -> list[int] | None:
    """The team ids a report covers (None: every team, for an admin with no filter).

    A team the user may not see is a 404, whether it exists or not, so that nobody can
    probe other teams' ids."""
    allowed = report_allowed_teams(user)
    if team_id is not None:
        if not allowed.filter(pk=team_id).exists():
            raise Http404("No such team in your report.")
        return [team_id]
    if user.is_admin_role:
        return None
    return list(allowed.values_list("pk", flat=True))


def drops_of_teams(team_ids: list[int] | None) -> Q:
    """Dropped batons and their roll-ups of the teams (None: every team): the deal's team
    or the team of whoever held the baton."""
    if team_ids is None:
        return Q()
    return Q(team_id__in=team_ids) | Q(owner_team_id__in=team_ids)


def latencies_of_teams(team_ids: list[int] | None) -> Q:
    """Hand-off latencies of the teams (None: every team): the deal's team."""
    return Q() if team_ids is None else Q(team_id__in=team_ids)


def _members_of_teams(team_ids: list[int]) -> QuerySet[User]:
    """The ids of the teams' members, for `column IN (…)` on a row's own user column
    (InSubquery): an index on that column answers it, where `user__team_id` joined the
    users to every row and filtered after the join."""
    return User.objects.filter(team_id__in=team_ids).order_by().values("pk")


def accounts_of_teams(team_ids: list[int] | None) -> Q:
    """Accounts of the teams (None: every team): the account's team or its owner's."""
    if team_ids is None:
        return Q()
    return Q(team_id__in=team_ids) | InSubquery("owner_id", _members_of_teams(team_ids))


def handoffs_of_teams(team_ids: list[int] | None) -> Q:
    """Hand-offs of the teams (None: every team): the deal's team, or the team of the
    lead it was proposed to or who declined it."""
    if team_ids is None:
        return Q()
    members = _members_of_teams(team_ids)
    return Q(team_id__in=team_ids) | InSubquery("proposed_owner_id", members) | InSubquery("declined_by_id", members)


def pulses_of_teams(team_ids: list[int] | None) -> Q:
    """Customer pulses of the teams (None: every team): the rep's team, or the account's.
    On the rep's and the account owner's own id columns (InSubquery): joining the owner
    as a second user made the dashboard's at-risk list a seven-table join that
    PostgreSQL took ~9 ms to plan (issue 17)."""
    if team_ids is None:
        return Q()
    members = _members_of_teams(team_ids)
    return (
        Q(InSubquery("checkin__rep_id", members))
        | Q(account__team_id__in=team_ids)
        | Q(InSubquery("account__owner_id", members))
    )


def checkins_of_teams(team_ids: list[int] | None) -> Q:
    """Check-ins of the teams (None: every team): the rep's team. On the row's own rep_id
    (InSubquery), so that the index on (rep, status, due_on) reads only the teams' reps'
    overdue rows, not every team's overdue rows joined to the users."""
    return Q() if team_ids is None else Q(InSubquery("rep_id", _members_of_teams(team_ids)))


def promises_of_teams(team_ids: list[int] | None) -> Q:
    """Promises of the teams (None: every team): those of the deals of the teams."""
    return Q() if team_ids is None else Q(deal__team_id__in=team_ids)
