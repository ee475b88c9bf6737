"""Domain signals of the handoffs app: the one way it sets off work in the app above
it (followups), which connects receivers in its AppConfig.ready(). Each is sent with
transaction.on_commit by the service named, so receivers see committed data.

- handoff_accepted(sender=Handoff, handoff_id: int, actor_id: int | None)
  Sent by handoffs.services.handoffs.handoff_accept. followups schedules the rep's
  check-ins on the playbook's cadence.
- overdue_item_resolved(sender=Model, item_kind: str, item_id: int)
  Sent when an item that reminders watch (a step done, a meeting scheduled, an owner
  accepted, a next step moved) stops being overdue. followups cancels its pending
  reminders at once instead of waiting for the next scan.
"""

from django.dispatch import Signal

handoff_accepted = Signal()
overdue_item_resolved = Signal()
