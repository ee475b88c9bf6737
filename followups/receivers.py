"""Receivers of the handoffs app's domain signals (documented in handoffs/signals.py)."""

from django.dispatch import receiver

from followups.services.checkins import checkins_schedule_for_handoff
from followups.services.reminders import reminders_cancel_for_item
from handoffs.signals import handoff_accepted, overdue_item_resolved


@receiver(handoff_accepted, dispatch_uid="followups.schedule_checkins_on_handoff_accepted")
def schedule_checkins_on_handoff_accepted(sender, *, handoff_id: int, **kwargs) -> None:
    checkins_schedule_for_handoff(handoff_id=handoff_id)


@receiver(overdue_item_resolved, dispatch_uid="followups.cancel_reminders_on_overdue_item_resolved")
def cancel_reminders_on_overdue_item_resolved(sender, *, item_kind: str, item_id: int, **kwargs) -> None:
    reminders_cancel_for_item(item_kind=item_kind, item_id=item_id)
