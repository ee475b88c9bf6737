"""Webhooks and chat alerts: what each event says, and how each format renders it — the
one place for both (the sending is followups.services.outbox's, the writing
followups.services.webhooks').

- **An event is a fact at a moment** ("handoff.accepted": this hand-off, accepted then,
  by her). `event_payloads` reads what events are about, inside the transaction of the
  change (one query per event name and batch), and returns the generic payload that is
  frozen on each outbox row:

      {"id": "<event id>", "event": "handoff.accepted", "occurred_at": "<ISO 8601, UTC>",
       "data": {"summary": "...", "url": "<Baton page>", ...the item's facts...}}

  A later change to the deal does not change what was said about the moment.
- **Identifiers are deterministic.** The event id comes from the event, its item and its
  version (the moment in microseconds, or for a scan's finding the state it found); the
  delivery id (X-Baton-Delivery) from the event id and the endpoint. Every retry and every
  replay of a delivery sends the same delivery id, so a receiver can drop a resend.
- **One renderer per format** (`render_body`): generic (the payload itself, signed),
  Slack (`{"text", "blocks"}`), Microsoft Teams (an Adaptive Card message, which Teams'
  Workflows webhooks and the older connectors accept).
- **The signature**: `X-Baton-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`
  with X-Baton-Timestamp the Unix time of the attempt (`signature`, `signature_valid`).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.urls import reverse

from accounts.common.links import absolute_url
from accounts.models import Account, User
from followups.choices import WEBHOOK_TEST_EVENT, PulseAnswer, WebhookEvent, WebhookFormat
from followups.models import CheckIn, CustomerPulse, WebhookEndpoint
from followups.rules import RULES
from handoffs.models import Deal, Handoff, Meeting, Promise

# What an event's item_id names (handoffs.signals.EVENT_ABOUT_* for the hand-off side).
ITEM_DEAL = "deal"
ITEM_HANDOFF = "handoff"
ITEM_MEETING = "meeting"
ITEM_PROMISE = "promise"
ITEM_CHECKIN = "checkin"
ITEM_PULSE = "pulse"
ITEM_DROP = "drop"  # item_id: the rule's subject (a deal, a step, a check-in…), with data["code"]
ITEM_ENDPOINT = "endpoint"  # the test event

# Fixed, so that a delivery id computed anywhere, any time, is the same.
DELIVERY_NAMESPACE = uuid.UUID("6f1b2c1e-6a55-4c3e-9b7e-62617446f6e5")

USER_AGENT = "Baton-Webhooks/1"
SIGNATURE_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class EventItem:
    """One occurrence of an event, as its source reports it."""

    item_id: int
    occurred_at: datetime.datetime
    version: int
    data: dict = field(default_factory=dict)


# ---------------------------------------------------------------- identifiers


def event_version(moment: datetime.datetime) -> int:
    """An event that happened at `moment`: its time in microseconds since the epoch."""
    return int(moment.timestamp() * 1_000_000)


def state_version(*parts: object) -> int:
    """An event found by a scan, named by the state it found (a check-in's due date, a
    drop's code and first day): the same finding gives the same version, so a second
    scan, or two at once, write nothing new. 53 bits of a hash."""
    digest = hashlib.blake2b("|".join(str(part) for part in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 11


def event_id(event: str, item_kind: str, item_id: int, version: int) -> str:
    return f"{event}.{item_kind}-{item_id}.v{version}"


def delivery_id(event_identifier: str, endpoint_id: int) -> str:
    """X-Baton-Delivery: one per event and endpoint, the same on every retry and replay."""
    return str(uuid.uuid5(DELIVERY_NAMESPACE, f"{event_identifier}/endpoint-{endpoint_id}"))


# ---------------------------------------------------------------- the payload


def _url(name: str, pk: int) -> str:
    return absolute_url(reverse(name, args=[pk]))


def _person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": str(user), "email": user.email}


def _account(account: Account) -> dict:
    return {"id": account.pk, "name": account.name, "url": _url("handoffs:account_detail", account.pk)}


def _deal(deal: Deal) -> dict:
    return {
        "id": deal.pk,
        "title": deal.title,
        "stage": deal.stage,
        "amount": str(deal.amount) if deal.amount is not None else None,
        "currency": deal.currency,
        "closed_on": deal.closed_on.isoformat() if deal.closed_on else None,
        "external_id": deal.external_id or None,
        "url": _url("handoffs:deal_detail", deal.pk),
    }


def _handoff(handoff: Handoff) -> dict:
    return {
        "id": handoff.pk,
        "status": handoff.status,
        "closed_on": handoff.closed_on.isoformat(),
        "url": _url("handoffs:handoff_detail", handoff.pk),
    }


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.astimezone(datetime.UTC).isoformat() if moment else None


def _deal_facts(deal: Deal) -> dict:
    return {"account": _account(deal.account), "deal": _deal(deal), "rep": _person(deal.owner)}


def _actor(users: dict[int, User], item: EventItem) -> dict | None:
    return _person(users.get(item.data.get("actor_id")))


def _users(items: Iterable[EventItem]) -> dict[int, User]:
    ids = {item.data.get("actor_id") for item in items} - {None}
    return User.objects.in_bulk(ids) if ids else {}


Describer = Callable[[list[EventItem]], list[dict]]


def _describe_deals_won(items: list[EventItem]) -> list[dict]:
    deals = Deal.objects.select_related("account", "owner", "handoff").in_bulk([item.item_id for item in items])
    users = _users(items)
    described = []
    for item in items:
        deal = deals[item.item_id]
        handoff = getattr(deal, "handoff", None)
        amount = f"{deal.amount:,.2f} {deal.currency}" if deal.amount is not None else "no amount"
        described.append(
            {
                "summary": f"Deal won: {deal.title} ({deal.account.name}), {amount} — {deal.owner}",
                "url": _url("handoffs:deal_detail", deal.pk),
                **_deal_facts(deal),
                "close_reason": deal.close_reason,
                "handoff": _handoff(handoff) if handoff is not None else None,
                "closed_by": _actor(users, item),
            }
        )
    return described


def _handoffs_of(items: list[EventItem]) -> dict[int, Handoff]:
    return Handoff.objects.select_related(
        "deal__account", "deal__owner", "rep", "proposed_owner", "proposed_by", "delivery_owner", "declined_by"
    ).in_bulk([item.item_id for item in items])


def _handoff_facts(handoff: Handoff) -> dict:
    deal = handoff.deal
    return {
        "url": _url("handoffs:handoff_detail", handoff.pk),
        "account": _account(deal.account),
        "deal": _deal(deal),
        "handoff": _handoff(handoff),
        "rep": _person(handoff.rep),
    }


def _describe_starts(items: list[EventItem]) -> list[dict]:
    handoffs = Handoff.objects.select_related("deal__account", "deal__owner", "rep", "playbook").in_bulk(
        [item.item_id for item in items]
    )
    users = _users(items)
    described = []
    for item in items:
        handoff = handoffs[item.item_id]
        playbook = handoff.playbook
        described.append(
            {
                "summary": f"Hand-off of {handoff.deal.title} ({handoff.deal.account.name}) started "
                f"— it waits for a delivery lead",
                **_handoff_facts(handoff),
                "playbook": {"id": playbook.pk, "name": playbook.name} if playbook is not None else None,
                "started_by": _actor(users, item),
            }
        )
    return described


def _describe_proposals(items: list[EventItem]) -> list[dict]:
    handoffs = _handoffs_of(items)
    described = []
    for item in items:
        handoff = handoffs[item.item_id]
        described.append(
            {
                "summary": f"Hand-off of {handoff.deal.title} ({handoff.deal.account.name}) proposed to "
                f"{handoff.proposed_owner} by {handoff.proposed_by}",
                **_handoff_facts(handoff),
                "proposed_owner": _person(handoff.proposed_owner),
                "proposed_by": _person(handoff.proposed_by),
            }
        )
    return described


def _describe_acceptances(items: list[EventItem]) -> list[dict]:
    handoffs = _handoffs_of(items)
    described = []
    for item in items:
        handoff = handoffs[item.item_id]
        described.append(
            {
                "summary": f"{handoff.delivery_owner} accepted the hand-off of {handoff.deal.title} "
                f"and now owns {handoff.deal.account.name}",
                **_handoff_facts(handoff),
                "delivery_owner": _person(handoff.delivery_owner),
            }
        )
    return described


def _describe_declines(items: list[EventItem]) -> list[dict]:
    handoffs = _handoffs_of(items)
    described = []
    for item in items:
        handoff = handoffs[item.item_id]
        described.append(
            {
                "summary": f"{handoff.declined_by} declined the hand-off of {handoff.deal.title} "
                f"({handoff.deal.account.name}): it needs a new owner",
                **_handoff_facts(handoff),
                "declined_by": _person(handoff.declined_by),
                "reason": handoff.decline_reason,
            }
        )
    return described


def _meetings_of(items: list[EventItem]) -> dict[int, Meeting]:
    return Meeting.objects.select_related(
        "handoff__deal__account", "handoff__deal__owner", "handoff__rep", "handoff__delivery_owner"
    ).in_bulk([item.item_id for item in items])


def _meeting(meeting: Meeting) -> dict:
    return {
        "id": meeting.pk,
        "status": meeting.status,
        "starts_at": _iso(meeting.starts_at),
        "duration_minutes": meeting.duration_minutes,
        "location": meeting.location,
    }


def _describe_meetings_scheduled(items: list[EventItem]) -> list[dict]:
    meetings = _meetings_of(items)
    described = []
    for item in items:
        meeting = meetings[item.item_id]
        handoff = meeting.handoff
        when = meeting.starts_at.astimezone(datetime.UTC).strftime("%d %b %Y %H:%M UTC")
        described.append(
            {
                "summary": f"Hand-off meeting for {handoff.deal.title} ({handoff.deal.account.name}) scheduled for {when}",
                **_handoff_facts(handoff),
                "delivery_owner": _person(handoff.delivery_owner),
                "meeting": _meeting(meeting),
            }
        )
    return described


def _describe_meetings_held(items: list[EventItem]) -> list[dict]:
    meetings = _meetings_of(items)
    described = []
    for item in items:
        meeting = meetings[item.item_id]
        handoff = meeting.handoff
        counts = meeting.counts_as_handoff_meeting
        described.append(
            {
                "summary": f"Hand-off meeting for {handoff.deal.title} ({handoff.deal.account.name}) held"
                + ("" if counts else " without all three sides: it does not count"),
                **_handoff_facts(handoff),
                "delivery_owner": _person(handoff.delivery_owner),
                "meeting": {**_meeting(meeting), "held_at": _iso(meeting.held_at), "agreement": meeting.notes},
                "counts_as_handoff_meeting": counts,
            }
        )
    return described


def _describe_promises_broken(items: list[EventItem]) -> list[dict]:
    promises = Promise.objects.select_related("deal__account", "deal__owner", "resolved_by").in_bulk(
        [item.item_id for item in items]
    )
    described = []
    for item in items:
        promise = promises[item.item_id]
        deal = promise.deal
        described.append(
            {
                "summary": f"Promise broken on {deal.title} ({deal.account.name}): “{promise.description}”",
                "url": _url("handoffs:deal_detail", deal.pk),
                **_deal_facts(deal),
                "promise": {
                    "id": promise.pk,
                    "description": promise.description,
                    "target_date": promise.target_date.isoformat() if promise.target_date else None,
                    "customer_told": promise.customer_told,
                },
                "reason": promise.resolution_note,
                "broken_by": _person(promise.resolved_by),
            }
        )
    return described


def _describe_checkins_overdue(items: list[EventItem]) -> list[dict]:
    checkins = CheckIn.objects.select_related("account", "rep", "handoff__deal__owner").in_bulk(
        [item.item_id for item in items]
    )
    described = []
    for item in items:
        checkin = checkins[item.item_id]
        deal = checkin.handoff.deal
        described.append(
            {
                "summary": f"Check-in with {checkin.account.name} ({deal.title}) overdue since {checkin.due_on:%d %b %Y} "
                f"— {checkin.rep}",
                "url": _url("handoffs:handoff_detail", checkin.handoff_id),
                "account": _account(checkin.account),
                "deal": _deal(deal),
                "rep": _person(checkin.rep),
                "checkin": {
                    "id": checkin.pk,
                    "due_on": checkin.due_on.isoformat(),
                    "cadence_days": checkin.cadence_days,
                },
            }
        )
    return described


def _describe_pulses_at_risk(items: list[EventItem]) -> list[dict]:
    pulses = CustomerPulse.objects.select_related(
        "account", "contact", "checkin__rep", "checkin__handoff__deal__owner", "checkin__handoff__delivery_owner"
    ).in_bulk([item.item_id for item in items])
    described = []
    for item in items:
        pulse = pulses[item.item_id]
        handoff = pulse.checkin.handoff
        described.append(
            {
                "summary": f"{pulse.contact} ({pulse.account.name}) says the delivery of {handoff.deal.title} is at risk",
                "url": _url("handoffs:handoff_detail", handoff.pk),
                "account": _account(pulse.account),
                "deal": _deal(handoff.deal),
                "rep": _person(pulse.checkin.rep),
                "delivery_owner": _person(handoff.delivery_owner),
                "pulse": {
                    "id": pulse.pk,
                    "answer": PulseAnswer.AT_RISK.value,
                    "comment": pulse.comment,
                    "answered_at": _iso(pulse.changed_at or pulse.answered_at),
                },
                "contact": {"id": pulse.contact_id, "name": str(pulse.contact)},
            }
        )
    return described


def _describe_drops(items: list[EventItem]) -> list[dict]:
    deals = Deal.objects.select_related("account", "owner").in_bulk({item.data["deal_id"] for item in items})
    owners = User.objects.in_bulk({item.data.get("delivery_owner_id") for item in items} - {None})
    described = []
    for item in items:
        code = item.data["code"]
        rule = RULES.get(code)
        label = rule.label if rule else code
        deal = deals[item.data["deal_id"]]
        described.append(
            {
                "summary": f"Baton dropped — {label}: {deal.title} ({deal.account.name})",
                "url": absolute_url(reverse("followups:report_drilldown", args=[code])),
                **_deal_facts(deal),
                "delivery_owner": _person(owners.get(item.data.get("delivery_owner_id"))),
                "drop": {
                    "code": code,
                    "label": label,
                    "description": rule.description if rule else "",
                    "drop_date": item.data["drop_date"],
                    "subject_id": item.item_id,
                },
            }
        )
    return described


def _describe_test(items: list[EventItem]) -> list[dict]:
    endpoints = WebhookEndpoint.objects.in_bulk([item.item_id for item in items])
    users = _users(items)
    return [
        {
            "summary": f"A test event from Baton for the endpoint “{endpoints[item.item_id].name}”",
            "url": _url("followups:webhook_detail", item.item_id),
            "endpoint": {"id": item.item_id, "name": endpoints[item.item_id].name},
            "sent_by": _actor(users, item),
        }
        for item in items
    ]


DESCRIBERS: dict[str, Describer] = {
    WebhookEvent.DEAL_WON: _describe_deals_won,
    WebhookEvent.HANDOFF_STARTED: _describe_starts,
    WebhookEvent.HANDOFF_PROPOSED: _describe_proposals,
    WebhookEvent.HANDOFF_ACCEPTED: _describe_acceptances,
    WebhookEvent.HANDOFF_DECLINED: _describe_declines,
    WebhookEvent.MEETING_SCHEDULED: _describe_meetings_scheduled,
    WebhookEvent.MEETING_HELD: _describe_meetings_held,
    WebhookEvent.PROMISE_BROKEN: _describe_promises_broken,
    WebhookEvent.CHECKIN_OVERDUE: _describe_checkins_overdue,
    WebhookEvent.PULSE_AT_RISK: _describe_pulses_at_risk,
    WebhookEvent.BATON_DROPPED: _describe_drops,
    WEBHOOK_TEST_EVENT: _describe_test,
}


def event_payloads(event: str, item_kind: str, items: list[EventItem]) -> list[dict]:
    """The generic payload of each item's event, in the order given (see the module
    docstring). Reads the items in one query or two; call it where the event happens."""
    describer = DESCRIBERS.get(event)
    if describer is None:
        raise ValueError(f"Unknown webhook event {event!r}.")
    described = describer(items)
    return [
        {
            "id": event_id(event, item_kind, item.item_id, item.version),
            "event": event,
            "occurred_at": _iso(item.occurred_at),
            "data": data,
        }
        for item, data in zip(items, described, strict=True)
    ]


def event_label(event: str) -> str:
    if event == WEBHOOK_TEST_EVENT:
        return "Test event"
    return WebhookEvent(event).label if event in WebhookEvent.values else event


# ---------------------------------------------------------------- the formats

# The facts a chat message lists, when the event has them: (data key, field, label).
_CHAT_FACTS = (
    ("account", "name", "Account"),
    ("deal", "title", "Deal"),
    ("rep", "name", "Rep"),
    ("delivery_owner", "name", "Delivery owner"),
    ("proposed_owner", "name", "Proposed owner"),
    ("declined_by", "name", "Declined by"),
    ("reason", None, "Reason"),
)


def chat_facts(data: dict) -> list[tuple[str, str]]:
    facts = []
    for key, name, label in _CHAT_FACTS:
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get(name)
        if value:
            facts.append((label, str(value)[:300]))
    return facts


def _render_generic(payload: dict) -> dict:
    return payload


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _render_slack(payload: dict) -> dict:
    data = payload["data"]
    summary = data.get("summary", payload["event"])
    label = event_label(payload["event"])
    blocks: list[dict] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{_slack_escape(label)}*\n<{data.get('url', '')}|{_slack_escape(summary)}>",
            },
        }
    ]
    facts = chat_facts(data)
    if facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{label_}*\n{_slack_escape(value)}"} for label_, value in facts[:10]
                ],
            }
        )
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{payload['event']} · {payload['occurred_at']}"}]}
    )
    return {"text": f"{label}: {summary}", "blocks": blocks}


def _render_teams(payload: dict) -> dict:
    data = payload["data"]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": event_label(payload["event"]), "weight": "Bolder", "size": "Medium"},
            {"type": "TextBlock", "text": data.get("summary", payload["event"]), "wrap": True},
            {"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in chat_facts(data)]},
            {"type": "TextBlock", "text": payload["occurred_at"], "isSubtle": True, "size": "Small"},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open in Baton", "url": data.get("url", "")}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


RENDERERS: dict[str, Callable[[dict], dict]] = {
    WebhookFormat.GENERIC: _render_generic,
    WebhookFormat.SLACK: _render_slack,
    WebhookFormat.TEAMS: _render_teams,
}


def render_body(payload: dict, format: str) -> bytes:
    """The bytes POSTed to an endpoint of `format` (the signature covers exactly these)."""
    return json.dumps(RENDERERS[format](payload), separators=(",", ":"), ensure_ascii=False).encode()


# ---------------------------------------------------------------- signing


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """X-Baton-Signature: "sha256=" + hex HMAC-SHA256 of f"{timestamp}.{body}" with the secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signature_valid(
    secret: str, timestamp: str, body: bytes, header: str, *, now: float | None = None, tolerance: int | None = None
) -> bool:
    """What a receiver checks: the signature in constant time, and a timestamp within five
    minutes (a replayed capture of an old request is refused)."""
    tolerance = SIGNATURE_TOLERANCE_SECONDS if tolerance is None else tolerance
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(signature(secret, timestamp, body), header or "")


def request_headers(*, endpoint: WebhookEndpoint, event: str, delivery: str, body: bytes) -> dict[str, str]:
    """The headers of one attempt (a fresh timestamp and signature each time)."""
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Baton-Event": event,
        "X-Baton-Delivery": delivery,
        "X-Baton-Timestamp": timestamp,
        "X-Baton-Signature": signature(endpoint.secret, timestamp, body),
    }


def subject_line(payload: dict) -> str:
    """What the delivery log shows for a delivery."""
    return f"{event_label(payload['event'])}: {payload['data'].get('summary', '')}"[:300]


__all__ = [
    "DESCRIBERS",
    "RENDERERS",
    "EventItem",
    "delivery_id",
    "event_id",
    "event_payloads",
    "event_version",
    "render_body",
    "request_headers",
    "signature",
    "signature_valid",
    "state_version",
]
