"""Giving a person's scheduled check-ins to another rep (issue 15: a deactivated user's
open work). The items of the lower apps are handoffs.services.reassign's; a whole submit
of the open-work page is followups.services.open_work's."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.access import is_active_user, user_may_reassign_holdings_of
from accounts.choices import EventVerb
from accounts.models import User
from accounts.services import event_record
from followups.access import checkins_of_rep_workable_by
from followups.choices import CheckInStatus
from followups.models import CheckIn


def checkin_may_be_held_by(actor: User, person: User) -> bool:
    """A check-in goes to an active rep whose check-ins `actor` may work (their own
    team's reps for a manager, any rep for an admin: followups.access)."""
    return is_active_user(person) and person.is_rep and checkins_of_rep_workable_by(actor, person)


@transaction.atomic
def checkin_reassign(*, actor: User, checkin: CheckIn, from_user: User, to_user: User) -> CheckIn:
    """Give a scheduled check-in of `from_user` to the rep `to_user`; refused, naming the
    check-in, when it is no longer `from_user`'s to give (the page was stale)."""
    if not user_may_reassign_holdings_of(actor, from_user):
        raise PermissionDenied(f"Only an admin or {from_user}'s manager gives their check-ins to someone else.")
    locked = (
        CheckIn.objects.select_for_update(of=("self",)).select_related("account", "handoff__deal").get(pk=checkin.pk)
    )
    if locked.rep_id != from_user.pk or locked.status != CheckInStatus.SCHEDULED:
        raise ValidationError(
            f"The check-in with {locked.account} due {locked.due_on:%d %b %Y} is no longer {from_user}'s: "
            "someone changed it since the page was shown. Nothing was reassigned; reload the page and try again."
        )
    if to_user.pk == from_user.pk or not checkin_may_be_held_by(actor, to_user):
        raise ValidationError({"to_user": f"{to_user} may not take this check-in: choose an active rep of yours."})
    locked.rep = to_user
    locked.save(update_fields=["rep", "updated_at"])
    event_record(
        account=locked.account,
        subject=locked.handoff.deal,
        verb=EventVerb.OWNER_CHANGED,
        message=f"Check-in due {locked.due_on:%d %b %Y} given to {to_user} (was {from_user}).",
        actor=actor,
        data={"checkin_id": locked.pk, "from_user": from_user.pk, "to_user": to_user.pk},
    )
    return locked
