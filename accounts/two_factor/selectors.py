"""Reads of two-factor sign-in: a user's devices, and whether they must use one.

A user is *enrolled* when they hold a confirmed device of django-otp: their authenticator
app (a TOTPDevice) and their backup codes (a StaticDevice whose StaticTokens are spent
one by one). An enrolment in progress is an unconfirmed TOTPDevice.
"""

from __future__ import annotations

from base64 import b32encode
from dataclasses import dataclass

import segno
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import OrganisationSettings, User

BACKUP_CODES_NAME = "Backup codes"
AUTHENTICATOR_NAME = "Authenticator app"


def staff_must_use_two_factor(user: User) -> bool:
    """Whom the organisation's `two_factor_required_for_staff` applies to: managers and
    admins (superusers included) — the people who see every team's customers."""
    return user.is_manager or user.is_admin_role


@dataclass(frozen=True)
class SignInState:
    """What the sign-in step needs to know of an authenticated, not yet verified user."""

    enrolled: bool
    must_enrol: bool


def sign_in_state(user: User) -> SignInState:
    """Whether the user holds a confirmed device, and whether they must enrol — in ONE
    query, since the middleware asks it on every request of a user not verified (most
    users, who never turn two-factor on)."""
    confirmed_totp = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    confirmed_codes = StaticDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    required = OrganisationSettings.objects.filter(pk=1, two_factor_required_for_staff=True)
    row = (
        User.objects.filter(pk=user.pk)
        .values(totp=Exists(confirmed_totp), codes=Exists(confirmed_codes), required=Exists(required))
        .first()
    )
    if row is None:
        return SignInState(enrolled=False, must_enrol=False)
    enrolled = row["totp"] or row["codes"]
    return SignInState(
        enrolled=enrolled, must_enrol=not enrolled and row["required"] and staff_must_use_two_factor(user)
    )


def two_factor_required_for(user: User) -> bool:
    """Whether the organisation requires this user to sign in with two-factor."""
    return staff_must_use_two_factor(user) and OrganisationSettings.load().two_factor_required_for_staff


def user_is_enrolled(user: User) -> bool:
    return sign_in_state(user).enrolled


def confirmed_totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def pending_totp_device(user: User) -> TOTPDevice | None:
    """The enrolment in progress: the device created by "Set up", not yet confirmed."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def backup_codes_device(user: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@dataclass(frozen=True)
class Enrolment:
    """What the set-up page shows for a pending device: the QR code for an authenticator
    app to scan, and the same secret as text for typing in by hand."""

    device: TOTPDevice
    secret: str
    qr_data_uri: str

    @property
    def secret_grouped(self) -> str:
        """The secret in groups of four, as authenticator apps print it."""
        return " ".join(self.secret[index : index + 4] for index in range(0, len(self.secret), 4))


def enrolment_of(device: TOTPDevice) -> Enrolment:
    # An <img> with a data: URI: the Content-Security-Policy allows img-src data:, and it
    # needs no inline style (segno's SVG has none).
    qr_data_uri = segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)
    return Enrolment(device=device, secret=b32encode(device.bin_key).decode("ascii"), qr_data_uri=qr_data_uri)


def two_factor_status(user: User) -> dict:
    """The profile section's and the two-factor page's read, all at once."""
    device = confirmed_totp_device(user)
    return {
        "enrolled": device is not None or backup_codes_device(user) is not None,
        "device": device,
        "backup_codes_left": backup_codes_left(user),
        "required": two_factor_required_for(user),
    }
