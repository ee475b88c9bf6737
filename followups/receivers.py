"""Receivers of the handoffs app's domain signals (documented in handoffs/signals.py)."""

from django.dispatch import receiver

from followups.services.checkins import checkins_schedule_for_handoff
from handoffs.signals import handoff_accepted


@receiver(handoff_accepted, dispatch_uid="followups.schedule_checkins_on_handoff_accepted")
def schedule_checkins_on_handoff_accepted(sender, *, handoff_id: int, **kwargs) -> None:
    checkins_schedule_for_handoff(handoff_id=handoff_id)
