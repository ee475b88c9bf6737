"""Giving what a person holds to someone else: their accounts, open deals, hand-offs,
open steps and promises still to keep (issue 15: a deactivated user's open work is
reassigned by their manager, nothing is orphaned). Check-ins are followups'
(followups.services.reassign); followups.services.open_work runs a whole submit.

Each service takes the person the item is taken from (`from_user`) and refuses, with a
ValidationError naming the item, when the item is no longer theirs: the page the
manager submitted was read before someone else moved it, and the whole submit rolls
back instead of half-moving a list. Each one locks the item's row, checks who may do it
(accounts.access.user_may_reassign_holdings_of, then the rule of the new holder's role), writes its
timeline event in the same transaction and, where the app already tells the new person
(a proposal to a delivery lead), tells them through the existing service.

Reminders already queued for the old holder are moved by followups.services.open_work
(the outbox is followups'); nothing here sends anything itself.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models.functions import Now

from accounts.access import account_users_assignable_by, is_active_user, user_may_reassign_holdings_of, user_sells
from accounts.choices import EventVerb, Role
from accounts.models import Account, User
from accounts.services import account_change_owner, event_record
from handoffs.choices import OPEN_STAGES, HandoffStatus, PromiseStatus, StepOwnerRole, StepStatus
from handoffs.lateness import PROMISE_PENDING_STATUSES
from handoffs.models import Deal, Handoff, HandoffStep, Promise
from handoffs.services.handoffs import handoff_propose_owner
from handoffs.services.promises import promise_assign_owner

# The hand-off states in which the accepted delivery owner holds it (before, it is a
# proposal; after, it is complete and nobody's work).
DELIVERY_HELD_STATUSES = (HandoffStatus.ACCEPTED, HandoffStatus.MEETING_SCHEDULED, HandoffStatus.MEETING_HELD)


# --- who may do it -------------------------------------------------------------------


def _check_may_reassign(actor: User, from_user: User) -> None:
    if not user_may_reassign_holdings_of(actor, from_user):
        raise PermissionDenied(f"Only an admin or {from_user}'s manager gives their work to someone else.")


def _refuse_stale(what: str, from_user: User) -> None:
    raise ValidationError(
        f"{what} is no longer {from_user}'s: someone changed it since the page was shown. "
        "Nothing was reassigned; reload the page and try again."
    )


def _check_new_holder(to_user: User, from_user: User, *, allowed: bool, what: str) -> None:
    if to_user.pk == from_user.pk:
        raise ValidationError({"to_user": f"Choose someone other than {from_user}."})
    if not is_active_user(to_user):
        raise ValidationError({"to_user": f"{to_user} is deactivated: choose an active person."})
    if not allowed:
        raise ValidationError({"to_user": f"{to_user} may not hold {what}."})


def _seller_assignable(actor: User, to_user: User) -> bool:
    """An account's or a deal's owner: whom the actor may give one to
    (accounts.access.account_users_assignable_by), and for a deal someone who sells."""
    return account_users_assignable_by(actor).filter(pk=to_user.pk).exists()


def _changed(verb: str, *, account: Account, subject: models.Model, actor: User, message: str, **data) -> None:
    event_record(account=account, subject=subject, verb=verb, message=message, actor=actor, data=data)


# --- accounts and deals --------------------------------------------------------------


@transaction.atomic
def account_reassign(*, actor: User, account: Account, from_user: User, to_user: User) -> Account:
    """Give an account `from_user` owns to `to_user` (kept in its ownership history)."""
    _check_may_reassign(actor, from_user)
    locked = Account.objects.select_for_update().get(pk=account.pk)
    if locked.owner_id != from_user.pk:
        _refuse_stale(f"The account {locked}", from_user)
    _check_new_holder(to_user, from_user, allowed=_seller_assignable(actor, to_user), what="this account")
    account_change_owner(
        account=locked, new_owner=to_user, changed_by=actor, reason=f"{from_user}'s work reassigned by {actor}"
    )
    return locked


@transaction.atomic
def deal_reassign(*, actor: User, deal: Deal, from_user: User, to_user: User) -> Deal:
    """Give an open deal `from_user` owns to `to_user`, with the new owner's team.

    Not deal_update: that also validates the next step's date, and a deactivated rep's
    deals are often overdue — the new owner is who fixes that, after taking it."""
    _check_may_reassign(actor, from_user)
    locked = Deal.objects.select_for_update(of=("self",)).select_related("account").get(pk=deal.pk)
    if locked.owner_id != from_user.pk or locked.stage not in OPEN_STAGES:
        _refuse_stale(f"The deal {locked}", from_user)
    allowed = user_sells(to_user) and _seller_assignable(actor, to_user)
    _check_new_holder(to_user, from_user, allowed=allowed, what="a deal")
    # The version moves too: an edit form opened before this is refused, not applied.
    Deal.objects.filter(pk=locked.pk).update(
        owner=to_user, team=to_user.team, version=models.F("version") + 1, updated_at=Now()
    )
    _changed(
        EventVerb.OWNER_CHANGED,
        account=locked.account,
        subject=locked,
        actor=actor,
        message=f"Deal owner changed from {from_user} to {to_user} ({from_user}'s work reassigned).",
        from_user=from_user.pk,
        to_user=to_user.pk,
    )
    return locked


# --- hand-offs -----------------------------------------------------------------------


def _lock_handoff(handoff: Handoff) -> Handoff:
    return Handoff.objects.select_for_update(of=("self",)).select_related("deal__account").get(pk=handoff.pk)


@transaction.atomic
def handoff_reassign_rep(*, actor: User, handoff: Handoff, from_user: User, to_user: User) -> Handoff:
    """Make `to_user` the rep of a hand-off in progress that `from_user` was the rep of
    (the meeting, the check-ins' hand-off, the escalations while nobody accepted)."""
    _check_may_reassign(actor, from_user)
    locked = _lock_handoff(handoff)
    if locked.rep_id != from_user.pk or locked.status == HandoffStatus.COMPLETE:
        _refuse_stale(f"The hand-off of {locked.deal}", from_user)
    allowed = user_sells(to_user) and _seller_assignable(actor, to_user)
    _check_new_holder(to_user, from_user, allowed=allowed, what="a hand-off as its rep")
    locked.rep = to_user
    locked.save(update_fields=["rep", "updated_at"])
    deal = locked.deal
    _changed(
        EventVerb.OWNER_CHANGED,
        account=deal.account,
        subject=deal,
        actor=actor,
        message=f"Hand-off rep changed from {from_user} to {to_user}.",
        handoff_id=locked.pk,
        from_user=from_user.pk,
        to_user=to_user.pk,
    )
    return locked


@transaction.atomic
def handoff_reassign_delivery(*, actor: User, handoff: Handoff, from_user: User, to_user: User) -> Handoff:
    """Give the delivery side of a hand-off from `from_user` to the delivery lead `to_user`.

    - Proposed to `from_user` and not answered: proposed to `to_user` instead, through
      handoff_propose_owner (which e-mails them to accept, as any proposal).
    - Accepted by `from_user`: `to_user` becomes its delivery owner, takes the account if
      `from_user` owned it, and the open delivery steps and the promises still to keep
      of this deal that were `from_user`'s — as if `to_user` had accepted it."""
    _check_may_reassign(actor, from_user)
    locked = _lock_handoff(handoff)
    proposed = locked.status == HandoffStatus.OWNER_PROPOSED and locked.proposed_owner_id == from_user.pk
    owned = locked.status in DELIVERY_HELD_STATUSES and locked.delivery_owner_id == from_user.pk
    if not (proposed or owned):
        _refuse_stale(f"The hand-off of {locked.deal}", from_user)
    _check_new_holder(to_user, from_user, allowed=to_user.role == Role.DELIVERY, what="a hand-off to deliver")
    if proposed:
        return handoff_propose_owner(actor=actor, handoff=locked, owner=to_user)
    deal = locked.deal
    locked.delivery_owner = to_user
    locked.save(update_fields=["delivery_owner", "updated_at"])
    if deal.account.owner_id == from_user.pk:
        account_change_owner(
            account=deal.account,
            new_owner=to_user,
            changed_by=actor,
            reason=f"Took over the hand-off of {deal} from {from_user}",
            subject=deal,
        )
    locked.steps.filter(owner_role=StepOwnerRole.DELIVERY, status=StepStatus.OPEN, assignee=from_user).update(
        assignee=to_user, updated_at=Now()
    )
    Promise.objects.filter(deal_id=deal.pk, status__in=PROMISE_PENDING_STATUSES, owner=from_user).update(
        owner=to_user, updated_at=Now()
    )
    _changed(
        EventVerb.OWNER_CHANGED,
        account=deal.account,
        subject=deal,
        actor=actor,
        message=f"Delivery owner changed from {from_user} to {to_user}.",
        handoff_id=locked.pk,
        from_user=from_user.pk,
        to_user=to_user.pk,
    )
    return locked


# --- steps and promises --------------------------------------------------------------


def step_may_be_held_by(step: HandoffStep, person: User) -> bool:
    """Who may be given a step: a delivery step a delivery lead, a sales step someone
    who sells, the others (sales ops, finance, a manager's) any active user."""
    if step.owner_role == StepOwnerRole.DELIVERY:
        return person.role == Role.DELIVERY
    if step.owner_role == StepOwnerRole.SALES:
        return user_sells(person)
    return True


@transaction.atomic
def step_reassign(*, actor: User, step: HandoffStep, from_user: User, to_user: User) -> HandoffStep:
    """Give an open hand-off step assigned to `from_user` to `to_user`."""
    _check_may_reassign(actor, from_user)
    locked = (
        HandoffStep.objects.select_for_update(of=("self",)).select_related("handoff__deal__account").get(pk=step.pk)
    )
    if locked.assignee_id != from_user.pk or locked.status != StepStatus.OPEN:
        _refuse_stale(f"The step “{locked.title}”", from_user)
    allowed = step_may_be_held_by(locked, to_user)
    _check_new_holder(to_user, from_user, allowed=allowed, what=f"a {locked.get_owner_role_display()} step")
    locked.assignee = to_user
    locked.save(update_fields=["assignee", "updated_at"])
    deal = locked.handoff.deal
    _changed(
        EventVerb.OWNER_CHANGED,
        account=deal.account,
        subject=deal,
        actor=actor,
        message=f"Step “{locked.title}” given to {to_user} (was {from_user}).",
        handoff_id=locked.handoff_id,
        step_id=locked.pk,
        from_user=from_user.pk,
        to_user=to_user.pk,
    )
    return locked


@transaction.atomic
def promise_reassign(*, actor: User, promise: Promise, from_user: User, to_user: User) -> Promise:
    """Give a promise still to keep that `from_user` keeps to the delivery lead `to_user`
    (promise_assign_owner: its rules and its timeline event)."""
    _check_may_reassign(actor, from_user)
    locked = Promise.objects.select_for_update(of=("self",)).get(pk=promise.pk)
    if locked.owner_id != from_user.pk or locked.status not in (PromiseStatus.OPEN, PromiseStatus.CONFIRMED):
        _refuse_stale(f"The promise “{locked.description}”", from_user)
    _check_new_holder(to_user, from_user, allowed=to_user.role == Role.DELIVERY, what="a promise")
    return promise_assign_owner(actor=actor, promise=locked, owner=to_user)
