"""The writes of inbound closes: sources, deliveries received, replays, the purge.

A delivery is received in two transactions, on purpose (so inbound_receive and
inbound_delivery_replay are not atomic as a whole):

1. the InboundDelivery row — raw body, headers, signature verdict — is committed first,
   whatever follows, so that a payload that fails to map is kept for an admin to read and
   replay (a refused signature keeps only the start of the body: whoever can reach the
   URL can write that row, so it is bounded — and at most
   REJECTED_SIGNATURES_STORED_PER_MINUTE such rows a minute per source are written);
2. the mapping (handoffs.inbound.mapping) and every domain write run in one transaction
   through the existing services — accounts.services (account_create, contact_create…),
   handoffs.services.deals (deal_create, deal_update, deal_contact_add, promise_add,
   deal_close with packet_pending_ok=True) — acting as the deal's owner, so permissions,
   validation and timeline events are theirs. A failure rolls all of it back and the
   delivery records failed-to-map with the reason.

Deliveries of one source are serialised by a row lock on the source (two deliveries of
the same new deal cannot both create it). A deal already closed in Baton is left alone
(outcome ignored): a second delivery of the same won deal changes nothing.

Matching: an account, contact or deal by (external_source = the source's slug,
external_id); else an account without an external id whose domain is the company's, and a
contact of the account with the same e-mail, are adopted (typed into Baton before the CRM
was connected); else created. The owner is the Baton user (who sells) with the CRM
owner's e-mail, else the source's default owner; a deal that exists keeps its owner.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.access import account_editable_by, user_sells
from accounts.models import Account, Contact, User
from accounts.services import account_create, account_update, contact_create, contact_update
from handoffs.access import accounts_visible_to
from handoffs.choices import InboundKind, InboundOutcome, PromiseStatus, Stage
from handoffs.inbound.mapping import MAPPERS, InboundContact, InboundDeal, MappingError
from handoffs.inbound.signature import (
    HUBSPOT_SIGNATURE_HEADER,
    HUBSPOT_TIMESTAMP_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    hubspot_signature_check,
    secret_generate,
    signature_check,
)
from handoffs.models import Deal, DealContact, InboundDelivery, InboundSource
from handoffs.packet import deal_packet, packet_pending
from handoffs.services.deals import deal_close, deal_contact_add, deal_create, deal_no_promises_set, deal_update
from handoffs.services.promises import promise_add

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# A refused request (bad signature, switched-off source) keeps this much of its body.
REFUSED_BODY_KEPT = 10_000
RETENTION_DAYS = 30
# Refused signatures are stored (outcome rejected, 401) at most this many per source in any
# minute: whoever can reach the URL can send them, and each would be a row. The rest are
# answered the same 401 and only counted in the log (_rejection_unstored_count).
REJECTED_SIGNATURES_STORED_PER_MINUTE = 20
# After a rotation, the previous secret still signs for this long.
INBOUND_SECRET_GRACE = datetime.timedelta(hours=24)
HEADERS_KEPT = (
    "Content-Type",
    "Content-Length",
    "User-Agent",
    TIMESTAMP_HEADER,
    SIGNATURE_HEADER,
    HUBSPOT_TIMESTAMP_HEADER,
    HUBSPOT_SIGNATURE_HEADER,
    "X-Request-Id",
    "X-Forwarded-For",
)


@dataclass
class InboundAnswer:
    """What the endpoint answers: the HTTP status, and either the result or the one error
    body's code, message and fields (accounts.api.errors.error_body)."""

    status: int
    delivery: InboundDelivery | None = None
    error_code: str = ""
    message: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Applied:
    outcome: str
    deal: Deal | None
    account: Account | None
    notes: list[str]


# --- sources ---------------------------------------------------------------------------


def _check_admin(actor: User) -> None:
    if not actor.is_admin_role:
        raise PermissionDenied("Only an admin manages inbound sources.")


def _check_default_owner(owner: User | None) -> None:
    if owner is not None and (not owner.is_active or not user_sells(owner)):
        raise ValidationError({"default_owner": "Choose an active rep, manager or admin: they will own the deals."})


@transaction.atomic
def inbound_source_create(*, actor: User, name: str, slug: str, kind: str, default_owner: User | None) -> InboundSource:
    """A new source with a freshly generated shared secret (admins)."""
    _check_admin(actor)
    _check_default_owner(default_owner)
    source = InboundSource(
        name=name.strip(),
        slug=slug.strip().lower(),
        kind=kind,
        default_owner=default_owner,
        secret=secret_generate(),
        created_by=actor,
    )
    source.full_clean()
    source.save()
    logger.info("Inbound source %s created by %s", source.slug, actor)
    return source


# A secret pasted by an admin (a HubSpot app's client secret is a 36-character UUID).
PASTED_SECRET_MIN_LENGTH = 16


@transaction.atomic
def inbound_source_update(
    *, actor: User, source: InboundSource, name: str, default_owner: User | None, active: bool, secret: str = ""
) -> InboundSource:
    """Rename a source, change its default owner, switch it on or off (admins). A
    HubSpot source may be given its secret (`secret`, the HubSpot app's client secret,
    which signs HubSpot's own v3 signatures): the previous secret keeps signing for
    INBOUND_SECRET_GRACE, as after a rotation. An empty `secret` keeps the current one."""
    _check_admin(actor)
    _check_default_owner(default_owner)
    source = InboundSource.objects.select_for_update().get(pk=source.pk)
    source.name, source.default_owner, source.active = name.strip(), default_owner, active
    fields = ["name", "default_owner", "active"]
    secret = (secret or "").strip()
    if secret and secret != source.secret:
        if source.kind != InboundKind.HUBSPOT:
            raise ValidationError({"secret": "Only a HubSpot source takes a secret pasted in: rotate this one."})
        if len(secret) < PASTED_SECRET_MIN_LENGTH or not secret.isascii() or not secret.isprintable():
            raise ValidationError(
                {"secret": f"Paste the HubSpot app's client secret: at least {PASTED_SECRET_MIN_LENGTH} characters."}
            )
        source.previous_secret, source.secret = source.secret, secret
        source.secret_rotated_at = timezone.now()
        fields += ["previous_secret", "secret", "secret_rotated_at"]
    source.full_clean()
    source.save(update_fields=fields)
    if "secret" in fields:
        logger.info("Inbound source %s: secret set by %s", source.slug, actor)
    return source


@transaction.atomic
def inbound_source_rotate_secret(*, actor: User, source: InboundSource) -> InboundSource:
    """A new secret (admins); the old one keeps signing for INBOUND_SECRET_GRACE, the time
    to paste the new one into the CRM."""
    _check_admin(actor)
    source = InboundSource.objects.select_for_update().get(pk=source.pk)
    source.previous_secret, source.secret = source.secret, secret_generate()
    source.secret_rotated_at = timezone.now()
    source.save(update_fields=["previous_secret", "secret", "secret_rotated_at"])
    logger.info("Inbound source %s: secret rotated by %s", source.slug, actor)
    return source


def _secrets_valid(source: InboundSource, now: datetime.datetime) -> list[str]:
    valid = [source.secret]
    if source.previous_secret and source.secret_rotated_at and now - source.secret_rotated_at < INBOUND_SECRET_GRACE:
        valid.append(source.previous_secret)
    return valid


# --- receiving ---------------------------------------------------------------------------


def _headers_kept(headers: Mapping[str, str], remote_addr: str) -> dict[str, str]:
    kept = {name: str(headers[name])[:500] for name in HEADERS_KEPT if headers.get(name)}
    if remote_addr:
        kept["Remote-Addr"] = remote_addr
    return kept


def _decode(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def inbound_receive(
    *,
    slug: str,
    body: bytes,
    headers: Mapping[str, str],
    remote_addr: str = "",
    content_length: int | None = None,
    method: str = "POST",
    request_uri: str = "",
) -> InboundAnswer:
    """Receive one POST to /api/v1/inbound/<slug>/: check the source and the signature,
    store the delivery, map and apply it. Never raises for bad input: the answer says
    what to send back (the delivery is stored in every case but an unknown slug).

    `method` and `request_uri` (the absolute URL the request was sent to) are signed by
    HubSpot's v3 signature, accepted for a HubSpot source (_signature_verify)."""
    now = timezone.now()
    source = InboundSource.objects.filter(slug=slug).first()
    if source is None:
        return InboundAnswer(status=404, error_code="not_found", message="No inbound source at this address.")
    kept_headers = _headers_kept(headers, remote_addr)
    if (content_length or 0) > MAX_BODY_BYTES or len(body) > MAX_BODY_BYTES:
        return _refuse(
            source, body=b"", headers=kept_headers, now=now, status=413, code="payload_too_large",
            message=f"The body is larger than {MAX_BODY_BYTES:,} bytes.",
        )  # fmt: skip
    if not source.active:
        return _refuse(
            source, body=body, headers=kept_headers, now=now, status=403, code="permission_denied",
            message="This inbound source is switched off.",
        )  # fmt: skip
    try:
        _signature_verify(source, headers=headers, body=body, method=method, request_uri=request_uri, now=now)
    except SignatureError as error:
        if _rejected_signatures_stored_recently(source, now) >= REJECTED_SIGNATURES_STORED_PER_MINUTE:
            _rejection_unstored_count(source, now)
            return _rejected(401, "authentication_failed", str(error))
        return _refuse(
            source, body=body, headers=kept_headers, now=now, status=401, code="authentication_failed",
            message=str(error),
        )  # fmt: skip
    text = _decode(body)
    delivery = InboundDelivery.objects.create(
        source=source,
        received_at=now,
        raw_body=text if text is not None else body.decode("utf-8", errors="replace"),
        headers=kept_headers,
        signature_ok=True,
    )
    if text is None:
        return _finish(delivery, _rejected(400, "malformed_json", "The body is not UTF-8 text."))
    return _process(delivery, source)


def _signature_verify(
    source: InboundSource,
    *,
    headers: Mapping[str, str],
    body: bytes,
    method: str,
    request_uri: str,
    now: datetime.datetime,
) -> None:
    """Baton's signature, or — for a HubSpot source, when the request carries HubSpot's v3
    signature and not Baton's — HubSpot's; both under the source's valid secrets."""
    secrets_valid = _secrets_valid(source, now)
    if (
        source.kind == InboundKind.HUBSPOT
        and not headers.get(SIGNATURE_HEADER)
        and headers.get(HUBSPOT_SIGNATURE_HEADER)
    ):
        hubspot_signature_check(
            secrets_valid=secrets_valid,
            timestamp=headers.get(HUBSPOT_TIMESTAMP_HEADER),
            signature=headers.get(HUBSPOT_SIGNATURE_HEADER),
            method=method,
            uri=request_uri,
            body=body,
            now=now,
        )
        return
    signature_check(
        secrets_valid=secrets_valid,
        timestamp=headers.get(TIMESTAMP_HEADER),
        signature=headers.get(SIGNATURE_HEADER),
        body=body,
        now=now,
    )


def _rejected_signatures_stored_recently(source: InboundSource, now: datetime.datetime) -> int:
    # One indexed count (source, received_at). Two refusals in the same instant may both
    # see N-1 and both be stored: the cap is a bound on the flood, not an exact quota.
    return InboundDelivery.objects.filter(
        source=source,
        received_at__gt=now - datetime.timedelta(minutes=1),
        signature_ok=False,
        status_code=401,
    ).count()


# Refusals not stored, per (source id, minute), in this process: logged at the 1st, 10th,
# 100th… of a minute, so a flood writes a handful of log lines, not one a request.
_unstored_lock = threading.Lock()
_unstored: dict[tuple[int, int], int] = {}


def _rejection_unstored_count(source: InboundSource, now: datetime.datetime) -> int:
    minute = int(now.timestamp()) // 60
    key = (source.pk, minute)
    with _unstored_lock:
        for stale in [k for k in _unstored if k[1] < minute - 1]:
            del _unstored[stale]
        count = _unstored[key] = _unstored.get(key, 0) + 1
    if count == 10 ** (len(str(count)) - 1):  # 1, 10, 100, 1000…
        logger.warning(
            "Inbound source %s: %d requests with a bad signature not stored in the minute from %s UTC "
            "(over %d stored a minute; this process).",
            source.slug,
            count,
            datetime.datetime.fromtimestamp(minute * 60, tz=datetime.UTC).strftime("%Y-%m-%d %H:%M"),
            REJECTED_SIGNATURES_STORED_PER_MINUTE,
        )
    return count


def _refuse(
    source: InboundSource,
    *,
    body: bytes,
    headers: dict[str, str],
    now: datetime.datetime,
    status: int,
    code: str,
    message: str,
) -> InboundAnswer:
    kept = body[:REFUSED_BODY_KEPT]
    delivery = InboundDelivery.objects.create(
        source=source,
        received_at=now,
        raw_body=kept.decode("utf-8", errors="replace"),
        body_truncated=len(kept) < len(body) or (status == 413),
        headers=headers,
        signature_ok=False,
    )
    return _finish(delivery, _rejected(status, code, message))


def _rejected(status: int, code: str, message: str) -> InboundAnswer:
    return InboundAnswer(status=status, error_code=code, message=message)


def _finish(delivery: InboundDelivery, answer: InboundAnswer, applied: _Applied | None = None) -> InboundAnswer:
    """Record the outcome on the delivery row (its own statement, after the domain
    transaction committed or rolled back) and complete the answer."""
    if answer.error_code:
        outcome = (
            InboundOutcome.REJECTED if answer.status != 422 and answer.status < 500 else InboundOutcome.FAILED_TO_MAP
        )
        reason = answer.message
    else:
        assert applied is not None
        outcome = applied.outcome
        reason = " ".join(applied.notes)
    values = {
        "outcome": outcome,
        "reason": reason,
        "status_code": answer.status,
        "processed_at": timezone.now(),
        "deal": applied.deal if applied else None,
        "account": applied.account if applied else None,
    }
    if applied and applied.deal is not None:
        values["external_id"] = applied.deal.external_id
    elif delivery.external_id:
        values["external_id"] = delivery.external_id
    InboundDelivery.objects.filter(pk=delivery.pk).update(**values)
    for name, value in values.items():
        setattr(delivery, name, value)
    answer.delivery = delivery
    if not answer.error_code:
        answer.result = _result_body(delivery, applied)
    return answer


def _result_body(delivery: InboundDelivery, applied: _Applied) -> dict[str, Any]:
    body: dict[str, Any] = {"delivery": delivery.pk, "outcome": delivery.outcome, "notes": applied.notes}
    deal = applied.deal
    if deal is not None:
        deal = Deal.objects.prefetch_related("deal_contacts", "promises").select_related("handoff").get(pk=deal.pk)
        pending = packet_pending(deal)
        handoff = getattr(deal, "handoff", None)
        body["deal"] = {
            "id": deal.pk,
            "external_id": deal.external_id,
            "stage": deal.stage,
            "packet_pending": pending,
            "packet_missing": [item.key for item in deal_packet(deal).missing] if pending else [],
            "handoff": handoff.pk if handoff else None,
        }
    return body


def _process(delivery: InboundDelivery, source: InboundSource) -> InboundAnswer:
    """Map the delivery's stored body and apply it in one transaction; record the outcome."""
    try:
        payload = json.loads(delivery.raw_body, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        return _finish(delivery, _rejected(400, "malformed_json", f"The body is not valid JSON: {error}"))
    mapper = MAPPERS.get(source.kind)
    if mapper is None:
        return _finish(delivery, _rejected(400, "invalid", f"Unknown source kind {source.kind!r}."))
    try:
        inbound = mapper(payload)
        # Named on the delivery even if applying it fails: the admin sees which deal it was.
        delivery.external_id = inbound.external_id
        with transaction.atomic():
            applied = _apply(source, inbound, delivery)
    except MappingError as error:
        return _finish(delivery, _unmappable(error.message, error.errors))
    except ValidationError as error:
        fields = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
        message = " ".join(
            f"{key}: {' '.join(value)}" if key != "__all__" else " ".join(value) for key, value in fields.items()
        )
        return _finish(delivery, _unmappable(f"Baton refused it — {message}", fields))
    except PermissionDenied as error:
        return _finish(delivery, _unmappable(f"Baton refused it — {error}", {}))
    except Exception:
        logger.exception("Inbound delivery %s failed", delivery.pk)
        answer = InboundAnswer(
            status=500,
            error_code="server_error",
            message="Baton failed on this payload; it is kept, and an admin can replay it once fixed.",
        )
        return _finish(delivery, answer)
    answer = InboundAnswer(status=201 if applied.outcome == InboundOutcome.CREATED else 200)
    return _finish(delivery, answer, applied)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _unmappable(message: str, fields: dict[str, list[str]]) -> InboundAnswer:
    return InboundAnswer(status=422, error_code="unmappable", message=message, fields=fields)


# --- applying a close --------------------------------------------------------------------


def _apply(source: InboundSource, inbound: InboundDeal, delivery: InboundDelivery) -> _Applied:
    # One delivery of this source at a time: two deliveries of a new deal cannot both create it.
    InboundSource.objects.select_for_update().filter(pk=source.pk).first()
    notes = list(inbound.notes)
    existing = (
        Deal.objects.select_for_update()
        .select_related("owner", "account")
        .filter(external_source=source.slug, external_id=inbound.external_id)
        .first()
    )
    if inbound.lost:
        notes.append("Lost in the CRM: Baton takes wins and open deals, nothing changed.")
        return _Applied(InboundOutcome.IGNORED, existing, existing.account if existing else None, notes)
    if existing is not None and not existing.is_open:
        notes.append(f"Already {existing.get_stage_display().lower()} in Baton: nothing changed.")
        return _Applied(InboundOutcome.IGNORED, existing, existing.account, notes)

    owner = existing.owner if existing else _owner(source, inbound, notes)
    account = existing.account if existing else _account(source, inbound, actor=owner)
    if existing is not None and existing.account.external_id not in ("", inbound.account_external_id):
        notes.append("The CRM names another company for this deal; Baton keeps the deal's account.")
    contacts = _contacts(source, inbound, account=account, actor=owner, notes=notes)
    if existing is None:
        deal = _deal_create(source, inbound, account=account, owner=owner)
    else:
        deal = _deal_update(existing, inbound, actor=owner)
    _name_contacts(deal, contacts, actor=owner)
    _promises(deal, inbound, actor=owner)
    if inbound.won:
        _close(source, inbound, deal, actor=owner, delivery=delivery, notes=notes)
    outcome = InboundOutcome.CREATED if existing is None else InboundOutcome.UPDATED
    return _Applied(outcome, Deal.objects.get(pk=deal.pk), account, notes)


def _owner(source: InboundSource, inbound: InboundDeal, notes: list[str]) -> User:
    if inbound.owner_email:
        candidates = User.objects.filter(email__iexact=inbound.owner_email, is_active=True).order_by("pk")
        owner = next((user for user in candidates if user_sells(user)), None)
        if owner is not None:
            return owner
        notes.append(f"No Baton rep has the e-mail {inbound.owner_email}: the source's default owner owns the deal.")
    owner = source.default_owner
    if owner is None or not owner.is_active or not user_sells(owner):
        raise ValidationError(
            {"owner": "The CRM's owner is not a Baton user and this source has no active default owner: set one."}
        )
    return owner


def _link(model: type[Account | Contact | Deal], pk: int, source: InboundSource, external_id: str) -> None:
    """Mark a row as the CRM's. The services do not take external ids (people never type
    them), so they are set here, in the same transaction, right after the service wrote it."""
    if external_id:
        model.objects.filter(pk=pk).update(external_source=source.slug, external_id=external_id)


def _account(source: InboundSource, inbound: InboundDeal, *, actor: User) -> Account:
    account = Account.objects.filter(external_source=source.slug, external_id=inbound.account_external_id).first()
    if account is None and inbound.account_domain:
        # Typed into Baton before the CRM was connected: adopt it, if it is the only one.
        same_domain = [
            account
            for account in accounts_visible_to(actor)
            .filter(external_id="", domain__iexact=inbound.account_domain)
            .order_by("pk")[:2]
            if account_editable_by(actor, account)
        ]
        if len(same_domain) == 1:
            account = same_domain[0]
            _link(Account, account.pk, source, inbound.account_external_id)
    if account is None:
        account = account_create(actor=actor, name=inbound.account_name, owner=actor, domain=inbound.account_domain)
        _link(Account, account.pk, source, inbound.account_external_id)
        return Account.objects.get(pk=account.pk)
    changes = {"name": inbound.account_name} if account.name != inbound.account_name else {}
    if inbound.account_domain and account.domain != inbound.account_domain:
        changes["domain"] = inbound.account_domain
    if changes and account_editable_by(actor, account):
        account = account_update(actor=actor, account=account, expected_version=account.version, **changes)
    return account


def _contacts(
    source: InboundSource, inbound: InboundDeal, *, account: Account, actor: User, notes: list[str]
) -> list[tuple[Contact, str]]:
    found: list[tuple[Contact, str]] = []
    for item in inbound.contacts:
        contact = _contact(source, item, account=account, actor=actor, notes=notes)
        if contact is not None:
            found.append((contact, item.role))
    return found


def _contact(
    source: InboundSource, item: InboundContact, *, account: Account, actor: User, notes: list[str]
) -> Contact | None:
    contact = None
    if item.external_id:
        contact = Contact.objects.filter(external_source=source.slug, external_id=item.external_id).first()
        if contact is not None and contact.account_id != account.pk:
            notes.append(f"Contact {contact} belongs to another account in Baton: not named on this deal.")
            return None
    if contact is None and item.email:
        contact = Contact.objects.filter(account=account, email__iexact=item.email).first()
        if contact is not None and not contact.external_id:
            _link(Contact, contact.pk, source, item.external_id)
    values = {"first_name": item.first_name, "last_name": item.last_name, "email": item.email, "title": item.title}
    if contact is None and not account_editable_by(actor, account):
        notes.append(
            f"{item.first_name} {item.last_name}".strip() + f" not added: {actor} may not add contacts to {account}."
        )
        return None
    if contact is None:
        contact = contact_create(actor=actor, account=account, **values)
        _link(Contact, contact.pk, source, item.external_id)
        return contact
    changes = {name: value for name, value in values.items() if value and getattr(contact, name) != value}
    if changes and account_editable_by(actor, account):
        contact = contact_update(actor=actor, contact=contact, **changes)
    return contact


def _deal_fields(inbound: InboundDeal) -> dict[str, Any]:
    fields: dict[str, Any] = {"title": inbound.title, "amount": inbound.amount, "currency": inbound.currency}
    fields.update(inbound.context)
    if inbound.lead_source:
        fields["lead_source"] = inbound.lead_source
    if inbound.expected_close_date:
        fields["expected_close_date"] = inbound.expected_close_date
    return fields


def _deal_create(source: InboundSource, inbound: InboundDeal, *, account: Account, owner: User) -> Deal:
    today = timezone.localdate()
    next_step_due = inbound.next_step_due if inbound.next_step_due and inbound.next_step_due >= today else today
    deal = deal_create(
        actor=owner,
        account=account,
        owner=owner,
        # A deal that closes in this same delivery passes through its last open stage.
        stage=inbound.stage or Stage.NEGOTIATE,
        next_step=inbound.next_step or f"Agree the next step (deal from {source.name})",
        next_step_due=next_step_due,
        **_deal_fields(inbound),
    )
    _link(Deal, deal.pk, source, inbound.external_id)
    return Deal.objects.get(pk=deal.pk)


def _deal_update(deal: Deal, inbound: InboundDeal, *, actor: User) -> Deal:
    fields = _deal_fields(inbound)
    if inbound.stage:
        fields["stage"] = inbound.stage
    if inbound.next_step:
        fields["next_step"] = inbound.next_step
    if inbound.next_step_due:
        fields["next_step_due"] = inbound.next_step_due
    today = timezone.localdate()
    if inbound.won and deal.next_step_due is not None and deal.next_step_due < today:
        # The close clears the next step in this transaction; an overdue one must not block it.
        fields["next_step_due"] = today
    changed = {name: value for name, value in fields.items() if getattr(deal, name) != value}
    if changed:
        deal = deal_update(actor=actor, deal=deal, expected_version=deal.version, **changed)
    return deal


def _name_contacts(deal: Deal, contacts: list[tuple[Contact, str]], *, actor: User) -> None:
    named = set(DealContact.objects.filter(deal=deal).values_list("contact_id", flat=True))
    for contact, role in contacts:
        if contact.pk not in named:
            deal_contact_add(actor=actor, deal=deal, contact=contact, role=role)
            named.add(contact.pk)


def _promises(deal: Deal, inbound: InboundDeal, *, actor: User) -> None:
    listed = {
        description.lower()
        for description in deal.promises.exclude(status=PromiseStatus.DROPPED).values_list("description", flat=True)
    }
    for promise in inbound.promises:
        if promise.description.lower() not in listed:
            promise_add(actor=actor, deal=deal, description=promise.description, target_date=promise.target_date)
            listed.add(promise.description.lower())
    if inbound.no_promises_made and not listed:
        deal_no_promises_set(actor=actor, deal=deal, no_promises_made=True)


def _close(
    source: InboundSource,
    inbound: InboundDeal,
    deal: Deal,
    *,
    actor: User,
    delivery: InboundDelivery,
    notes: list[str],
) -> None:
    today = timezone.localdate()
    closed_on = inbound.closed_on or today
    if inbound.closed_on is None:
        notes.append("No close date in the payload: closed today.")
    elif closed_on > today:
        notes.append(f"Close date {closed_on:%Y-%m-%d} is after Baton's today: closed today.")
        closed_on = today
    delivered = f"delivery #{delivery.pk}"
    if inbound.close_reason:
        reason = f"{inbound.close_reason} (from {source.name}, {delivered})"
    else:
        reason = f"Won in {source.name} ({delivered})"
    deal_close(
        actor=actor,
        deal=Deal.objects.get(pk=deal.pk),
        outcome=Stage.WON,
        closed_on=closed_on,
        final_amount=inbound.amount,
        reason=reason,
        packet_pending_ok=True,
    )


# --- replay and retention ------------------------------------------------------------------


def inbound_delivery_replay(*, actor: User, delivery: InboundDelivery) -> InboundAnswer:
    """Run the mapping again on a delivery that failed to map (admins), after a fix —
    a default owner set, a user created, the code corrected. The replay is a new delivery
    pointing at the original (its outcome is the replay's, the original keeps its own).
    Its signature was checked when it arrived; a refused one cannot be replayed."""
    _check_admin(actor)
    original = InboundDelivery.objects.select_related("source").get(pk=delivery.pk)
    if original.outcome != InboundOutcome.FAILED_TO_MAP or not original.signature_ok:
        raise ValidationError("Only a signed delivery that failed to map can be replayed.")
    replay = InboundDelivery.objects.create(
        source=original.source,
        received_at=timezone.now(),
        raw_body=original.raw_body,
        headers=original.headers,
        signature_ok=True,
        replayed_from=original,
        replayed_by=actor,
    )
    return _process(replay, original.source)


@transaction.atomic
def inbound_deliveries_purge(*, older_than_days: int = RETENTION_DAYS) -> int:
    """Delete the deliveries received more than `older_than_days` days ago; how many."""
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    deleted, _ = InboundDelivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted
