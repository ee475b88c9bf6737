"""The customer pulse's signed links, and what a link names.

A link carries a TimestampSigner token (its own salt) naming the pulse and the contact
it was sent to, signed when the e-mail is built (so it is valid
OrganisationSettings.pulse_link_days from the moment it is sent). Nothing is stored for
it: a tampered token fails the signature, an old one its age, and a token whose contact
is not the pulse's names nothing.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass

from django.core import signing

from accounts.models import OrganisationSettings
from followups.models import CustomerPulse

PULSE_LINK_SALT = "followups.customer_pulse"


def pulse_token(*, pulse_id: int, contact_id: int) -> str:
    return signing.TimestampSigner(salt=PULSE_LINK_SALT).sign_object({"p": pulse_id, "c": contact_id})


class LinkProblem(enum.StrEnum):
    INVALID = "invalid"  # tampered, mistyped, or names nothing that exists
    EXPIRED = "expired"


@dataclass(frozen=True)
class PulseLink:
    """What a token names: the pulse, or why it names nothing."""

    pulse: CustomerPulse | None
    problem: LinkProblem | None = None


def pulse_for_token(token: str) -> PulseLink:
    """The pulse a link names (with its contact, check-in, rep and delivery owner), or the
    problem: INVALID (bad signature, bad payload, nothing there) or EXPIRED."""
    max_age = datetime.timedelta(days=OrganisationSettings.load().pulse_link_days)
    signer = signing.TimestampSigner(salt=PULSE_LINK_SALT)
    try:
        payload = signer.unsign_object(token, max_age=max_age)
        pulse_id, contact_id = int(payload["p"]), int(payload["c"])
    except signing.SignatureExpired:
        return PulseLink(None, LinkProblem.EXPIRED)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return PulseLink(None, LinkProblem.INVALID)
    pulse = (
        CustomerPulse.objects.select_related(
            "contact", "account", "checkin__rep", "checkin__handoff__deal", "checkin__handoff__delivery_owner"
        )
        # An erased contact's link names nothing (followups.services.personal_data).
        .filter(pk=pulse_id, contact_id=contact_id, contact__erased_at__isnull=True)
        .first()
    )
    if pulse is None:
        return PulseLink(None, LinkProblem.INVALID)
    return PulseLink(pulse)
