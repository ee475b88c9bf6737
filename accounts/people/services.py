"""People and teams, changed by admins (issue 15).

Every service here is keyword-only and atomic, refuses anyone but an admin (the views
check too, but a crafted request must not skip it), validates before it writes, and
records the change in the audit log (accounts.audit) in the same transaction: who, when,
and each field's old → new value. A change is never without its entry.

The invitation e-mail is asked for with the message_requested signal inside the
transaction, so the outbox row is written with the user or not at all; the outbox
renders it at send time (followups.builders), when the link to set a password is made.

Two rules hold whatever the order of clicks:
- the organisation always keeps one active admin (the admins' rows are locked while
  one is demoted or deactivated, so two admins demoting each other cannot both pass);
- an admin cannot deactivate themselves (they would lock themselves out mid-session).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import AuditAction, audit_changes, audit_record, audit_snapshot
from accounts.choices import Role
from accounts.models import Team, User
from accounts.security.lockout import lockout_lift
from accounts.signals import MESSAGE_ABOUT_USER, message_requested

# followups.choices.MessagePurpose.USER_INVITE (accounts cannot import followups).
MESSAGE_USER_INVITE = "user_invite"

# AuditEntry.target_type of the changes made here.
TARGET_USER = "user"
TARGET_TEAM = "team"

USER_AUDITED_FIELDS = ("first_name", "last_name", "role", "team")


def _require_admin(actor: User) -> None:
    if not (actor.is_active and actor.is_admin_role):
        raise PermissionDenied("Only an admin manages people and teams.")


def _audit_user(*, actor: User, action: str, user: User, changes: dict | None = None) -> None:
    """Record a change to a person in the audit log, named as they are now."""
    audit_record(
        actor=actor, action=action, target_type=TARGET_USER, target_id=user.pk, target_label=str(user), changes=changes
    )


def _set_active(*, actor: User, user: User, active: bool, action: str) -> User:
    """Turn a locked user's sign-in on or off, recorded; nothing if it already is."""
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    _audit_user(actor=actor, action=action, user=user, changes={"active": [not active, active]})
    return user


def _role_label(value: str) -> str:
    return Role(value).label if value in Role.values else value


def _user_snapshot(user: User) -> dict:
    snapshot = audit_snapshot(user, USER_AUDITED_FIELDS)
    snapshot["role"] = _role_label(user.role)
    snapshot["manages"] = sorted(Team.objects.filter(manager=user).values_list("name", flat=True))
    return snapshot


def _is_admin(user: User) -> bool:
    return user.role == Role.ADMIN or user.is_superuser


def _refuse_losing_the_last_admin(user: User, *, field: str | None) -> None:
    """`user` is about to stop being an active admin: refused unless another remains.

    Every active admin's row is locked first (the user's own included), so that a
    concurrent demotion of another admin waits for this one and then counts again."""
    admins = list(
        User.objects.select_for_update()
        .filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not [pk for pk in admins if pk != user.pk]:
        message = f"{user} is the last active admin: make someone else an admin first."
        raise ValidationError({field: message} if field else message)


def _normalised_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def _email_taken(email: str, *, exclude_pk: int | None = None) -> bool:
    others = User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email))
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    return others.exists()


def _invite_version(at) -> int:
    # Milliseconds: each (re)invitation is a new message, and supersedes one still pending.
    return int(at.timestamp() * 1000)


def _request_invitation(user: User, *, at) -> None:
    message_requested.send(
        sender=User,
        purpose=MESSAGE_USER_INVITE,
        about=MESSAGE_ABOUT_USER,
        item_id=user.pk,
        version=_invite_version(at),
        recipients=[user],
        supersedes=(MESSAGE_USER_INVITE,),
    )


def invitation_pending(user: User) -> bool:
    """May the invitation be sent (again)? Only to an active user who never signed in and
    has no password yet: anyone else uses "Forgot your password?"."""
    return user.is_active and user.last_login is None and not user.has_usable_password()


# --- users -----------------------------------------------------------------------------


@transaction.atomic
def people_invite(*, actor: User, email: str, first_name: str, last_name: str, role: str, team: Team | None) -> User:
    """Create a user who signs in with their e-mail address, without a password: the
    invitation e-mail (sent through the outbox) carries a link to choose one."""
    _require_admin(actor)
    email = _normalised_email(email)
    if not email:
        raise ValidationError({"email": "Enter the person's e-mail address."})
    if len(email) > User._meta.get_field("username").max_length:
        raise ValidationError({"email": "This address is too long to sign in with."})
    if role not in Role.values:
        raise ValidationError({"role": "Choose a role."})
    if _email_taken(email):
        raise ValidationError({"email": "Someone already has this e-mail address."})
    now = timezone.now()
    user = User(
        username=email,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=role,
        team=team,
        is_active=True,
        invited_at=now,
        invited_by=actor,
    )
    user.set_unusable_password()
    user.full_clean()
    try:
        # A concurrent invitation of the same address passed the check above too: the
        # unique username decides, and the loser gets the same field error.
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError({"email": "Someone already has this e-mail address."}) from None
    _audit_user(
        actor=actor,
        action=AuditAction.USER_INVITED,
        user=user,
        changes={"email": [None, email], "role": [None, _role_label(role)], "team": [None, team]},
    )
    _request_invitation(user, at=now)
    return user


@transaction.atomic
def people_resend_invite(*, actor: User, user: User) -> User:
    """Send the invitation again (the first one was lost or its link expired); a copy not
    sent yet is superseded, so the person gets one e-mail."""
    _require_admin(actor)
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not invitation_pending(locked):
        raise ValidationError(
            f"{locked} is deactivated or has signed in already: they can use “Forgot your password?”."
        )
    now = timezone.now()
    previous = locked.invited_at
    locked.invited_at, locked.invited_by = now, actor
    locked.save(update_fields=["invited_at", "invited_by"])
    _audit_user(
        actor=actor,
        action=AuditAction.USER_INVITE_RESENT,
        user=locked,
        changes={"invited_at": [previous, now], "email": locked.email},
    )
    _request_invitation(locked, at=now)
    return locked


@transaction.atomic
def people_update(
    *,
    actor: User,
    user: User,
    first_name: str,
    last_name: str,
    role: str,
    team: Team | None,
    managed_teams: Iterable[Team],
) -> User:
    """Change a user's name, role, team and the teams they lead (as those teams' manager).

    Only a manager leads a team; a team given to this user is taken from its previous
    manager (each such team's change is recorded too)."""
    _require_admin(actor)
    locked = User.objects.select_for_update().get(pk=user.pk)
    if role not in Role.values:
        raise ValidationError({"role": "Choose a role."})
    managed = {team_row.pk: team_row for team_row in managed_teams}
    if managed and role != Role.MANAGER:
        raise ValidationError({"managed_teams": "Only a manager leads a team: untick them, or make them a manager."})
    if locked.is_active and _is_admin(locked) and not (role == Role.ADMIN or locked.is_superuser):
        _refuse_losing_the_last_admin(locked, field="role")
    before = _user_snapshot(locked)
    locked.first_name, locked.last_name = first_name.strip(), last_name.strip()
    locked.role, locked.team = role, team
    locked.full_clean(exclude=["password", "username"])
    locked.save(update_fields=["first_name", "last_name", "role", "team"])
    _set_managed_teams(actor=actor, user=locked, teams=list(managed.values()))
    changes = audit_changes(before, _user_snapshot(locked))
    if changes:
        _audit_user(actor=actor, action=AuditAction.USER_UPDATED, user=locked, changes=changes)
    return locked


def _set_managed_teams(*, actor: User, user: User, teams: list[Team]) -> None:
    wanted = {team_row.pk for team_row in teams}
    affected = (
        Team.objects.select_for_update(of=("self",))
        .select_related("manager")
        .filter(Q(manager=user) | Q(pk__in=wanted))
        .order_by("pk")
    )
    for team_row in affected:
        new_manager = user if team_row.pk in wanted else None
        if team_row.manager_id == (new_manager.pk if new_manager else None):
            continue
        old_manager = team_row.manager
        team_row.manager = new_manager
        team_row.save(update_fields=["manager"])
        audit_record(
            actor=actor,
            action=AuditAction.TEAM_UPDATED,
            target_type=TARGET_TEAM,
            target_id=team_row.pk,
            target_label=team_row.name,
            changes={"manager": [old_manager, new_manager]},
        )


@transaction.atomic
def people_deactivate(*, actor: User, user: User) -> User:
    """Stop a user from signing in (their sessions and API tokens stop working with it);
    their records stay theirs until their manager reassigns them (the open-work page).
    Nothing is deleted: the history keeps their name."""
    _require_admin(actor)
    if user.pk == actor.pk:
        raise ValidationError("You cannot deactivate yourself: ask another admin.")
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.is_active and _is_admin(locked):
        _refuse_losing_the_last_admin(locked, field=None)
    return _set_active(actor=actor, user=locked, active=False, action=AuditAction.USER_DEACTIVATED)


@transaction.atomic
def people_reactivate(*, actor: User, user: User) -> User:
    """Let a deactivated user sign in again, with the role and team they had."""
    _require_admin(actor)
    locked = User.objects.select_for_update().get(pk=user.pk)
    return _set_active(actor=actor, user=locked, active=True, action=AuditAction.USER_REACTIVATED)


@transaction.atomic
def people_lift_lockout(*, actor: User, user: User) -> bool:
    """Let a user whose username is locked out after failed sign-ins try again now (an
    admin who has checked it was them); False, and nothing recorded, if nothing was held."""
    _require_admin(actor)
    if not lockout_lift(user.username):
        return False
    _audit_user(actor=actor, action=AuditAction.LOGIN_LOCKOUT_LIFTED, user=user)
    return True


# --- teams -----------------------------------------------------------------------------


def _check_team(*, name: str, manager: User | None, exclude_pk: int | None = None) -> None:
    if not name:
        raise ValidationError({"name": "Name the team."})
    same_name = Team.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        same_name = same_name.exclude(pk=exclude_pk)
    if same_name.exists():
        raise ValidationError({"name": "Another team has this name."})
    if manager is not None and not (manager.is_active and manager.role == Role.MANAGER):
        raise ValidationError({"manager": "A team's manager must be an active user with the manager role."})


@transaction.atomic
def team_create(*, actor: User, name: str, manager: User | None = None) -> Team:
    """Create a team, led by `manager` (who receives its escalations) if given."""
    _require_admin(actor)
    name = name.strip()
    _check_team(name=name, manager=manager)
    team = Team(name=name, manager=manager)
    team.full_clean()
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise ValidationError({"name": "Another team has this name."}) from None
    audit_record(
        actor=actor,
        action=AuditAction.TEAM_CREATED,
        target_type=TARGET_TEAM,
        target_id=team.pk,
        target_label=team.name,
        changes={"name": [None, team.name], "manager": [None, manager]},
    )
    return team


@transaction.atomic
def team_update(*, actor: User, team: Team, name: str, manager: User | None) -> Team:
    """Rename a team or change its manager."""
    _require_admin(actor)
    locked = Team.objects.select_for_update(of=("self",)).select_related("manager").get(pk=team.pk)
    name = name.strip()
    _check_team(name=name, manager=manager, exclude_pk=locked.pk)
    before = audit_snapshot(locked, ("name", "manager"))
    locked.name, locked.manager = name, manager
    locked.full_clean()
    try:
        with transaction.atomic():
            locked.save(update_fields=["name", "manager"])
    except IntegrityError:
        raise ValidationError({"name": "Another team has this name."}) from None
    changes = audit_changes(before, audit_snapshot(locked, ("name", "manager")))
    if changes:
        audit_record(
            actor=actor,
            action=AuditAction.TEAM_UPDATED,
            target_type=TARGET_TEAM,
            target_id=locked.pk,
            target_label=locked.name,
            changes=changes,
        )
    return locked


def team_holdings(team: Team) -> dict[str, int]:
    """What still belongs to the team, by kind (members, accounts, deals, hand-offs…):
    every row of any app that would lose its team if the team were deleted."""
    held: dict[str, int] = {}
    for relation in Team._meta.related_objects:
        # The report's snapshots (DO_NOTHING, no constraint) are history, not holdings.
        if relation.on_delete is not models.SET_NULL:
            continue
        count = relation.related_model._default_manager.filter(**{relation.field.name: team}).count()
        if count:
            kind = "members" if relation.related_model is User else relation.related_model._meta.verbose_name_plural
            held[str(kind)] = count
    return held


@transaction.atomic
def team_delete(*, actor: User, team: Team) -> None:
    """Delete a team that nothing belongs to any more (its members and records moved)."""
    _require_admin(actor)
    locked = Team.objects.select_for_update(of=("self",)).select_related("manager").get(pk=team.pk)
    held = team_holdings(locked)
    if held:
        listed = ", ".join(f"{count} {kind}" for kind, count in held.items())
        raise ValidationError(f"“{locked}” still has {listed}: move them to another team first.")
    audit_record(
        actor=actor,
        action=AuditAction.TEAM_DELETED,
        target_type=TARGET_TEAM,
        target_id=locked.pk,
        target_label=locked.name,
        changes={"name": [locked.name, None], "manager": [locked.manager, None]},
    )
    locked.delete()
