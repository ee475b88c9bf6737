"""Domain signals of the handoffs app: the one way it sets off work in the app above
it (followups), which connects receivers in its AppConfig.ready(). Each is sent with
transaction.on_commit by the service named, so receivers see committed data.

- handoff_accepted(sender=Handoff, handoff_id: int, actor_id: int | None)
  Sent by handoffs.services.handoffs.handoff_accept. followups schedules the rep's
  check-ins on the playbook's cadence.
- overdue_item_resolved(sender=Model, item_kind: str, item_id: int)
  Sent when an item that reminders watch stops being overdue. followups cancels its
  pending reminders at once instead of waiting for the next scan. item_kind is one of
  ITEM_KINDS below, item_id the id of the row it names.
"""

from django.dispatch import Signal

# The item kinds of overdue_item_resolved, and what item_id names for each.
ITEM_KIND_STEP_OVERDUE = "step_overdue"  # a HandoffStep done or skipped
ITEM_KIND_OWNER_NOT_ACCEPTED = "owner_not_accepted"  # a Handoff whose owner accepted
ITEM_KIND_MEETING_NOT_SCHEDULED = "meeting_not_scheduled"  # a Handoff whose meeting is scheduled
ITEM_KIND_NEXT_STEP_OVERDUE = "next_step_overdue"  # a Deal whose next step moved or that closed
ITEM_KINDS = (
    ITEM_KIND_STEP_OVERDUE,
    ITEM_KIND_OWNER_NOT_ACCEPTED,
    ITEM_KIND_MEETING_NOT_SCHEDULED,
    ITEM_KIND_NEXT_STEP_OVERDUE,
)

handoff_accepted = Signal()
overdue_item_resolved = Signal()
