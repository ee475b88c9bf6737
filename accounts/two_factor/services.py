"""Changes to two-factor sign-in: enrol, confirm, verify at sign-in, new backup codes,
turn off, and an admin's reset of a lost device.

The devices are django-otp's: an authenticator app (TOTPDevice, 30-second six-digit
codes) and ten one-time backup codes (a StaticDevice; a code is deleted when used).
Every service is keyword-only and re-checks what guards it, so a crafted request cannot
skip the view's checks. Turning two-factor on, off or resetting it is written to the
audit log in the same transaction.

Why some checks run *outside* a transaction: django-otp counts a wrong code on the
device (its throttle: after each failure the next try must wait 1, 2, 4… seconds) and
commits that count itself. Inside our atomic block, the ValidationError that reports
the wrong code would roll the count back, and guessing would cost nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django_otp import verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from accounts.two_factor.selectors import (
    AUTHENTICATOR_NAME,
    BACKUP_CODES_NAME,
    backup_codes_device,
    confirmed_totp_device,
    two_factor_required_for,
    user_is_enrolled,
)

BACKUP_CODE_COUNT = 10
# An authenticator's code is six digits; a backup code eight letters and digits (base32).
_TOTP_CODE = re.compile(r"^\d{6}$")
_BACKUP_CODE = re.compile(r"^[a-z2-7]{8}$")


def normalise_code(code: str) -> str:
    """What the user typed, as the devices store it: no spaces or dashes (apps print
    "123 456"), lower case (backup codes are shown in lower case)."""
    return re.sub(r"[\s-]", "", code or "").lower()


@dataclass(frozen=True)
class Verification:
    """The answer to a code: the device that accepted it, or why none did."""

    device: Device | None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.device is not None


def _throttled_until(device: Device) -> datetime | None:
    allowed, details = device.verify_is_allowed()
    if allowed:
        return None
    return (details or {}).get("locked_until")


def two_factor_verify(*, user: User, code: str) -> Verification:
    """Check a code against the user's confirmed devices: six digits against the
    authenticator, eight characters against the backup codes (a backup code is used up).
    Never raises for a wrong code: the caller counts the failures (see the module doc)."""
    code = normalise_code(code)
    if _TOTP_CODE.match(code):
        device: Device | None = confirmed_totp_device(user)
    elif _BACKUP_CODE.match(code):
        device = backup_codes_device(user)
    else:
        return Verification(device=None)
    if device is None:
        return Verification(device=None)
    locked_until = _throttled_until(device)
    if locked_until is not None:
        return Verification(device=None, locked_until=locked_until)
    # django_otp.verify_token locks the device row (select_for_update) in its own
    # transaction, so two requests cannot both spend the same code.
    return Verification(device=verify_token(user, device.persistent_id, code))


def _confirm_identity(*, user: User, password: str = "", code: str = "") -> None:
    """A sensitive change needs the password again or a current code: a session left
    open on a shared computer is not enough to turn two-factor off."""
    if password:
        if not user.check_password(password):
            raise ValidationError({"password": "That is not your password."})
        return
    if code:
        verification = two_factor_verify(user=user, code=code)
        if verification.locked_until is not None:
            raise ValidationError({"code": "Too many wrong codes: wait a few seconds and try again."})
        if not verification.ok:
            raise ValidationError({"code": "That code is not right (or was already used)."})
        return
    raise ValidationError("Enter your password or a code from your authenticator app.")


def _new_backup_codes(user: User) -> list[str]:
    """Replace the user's backup codes with ten fresh ones (the old ones stop working)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_CODES_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _delete_devices(user: User) -> bool:
    """Delete every device of the user; whether any was confirmed."""
    had_any = TOTPDevice.objects.filter(user=user, confirmed=True).exists() or (
        StaticDevice.objects.filter(user=user, confirmed=True).exists()
    )
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()  # their tokens go with them (CASCADE)
    return had_any


def _audit(*, actor: User, user: User, action: str, before: str, after: str) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="user",
        target_id=user.pk,
        target_label=user.get_username(),
        changes={"two_factor": [before, after]},
    )


@transaction.atomic
def two_factor_enrolment_start(*, user: User) -> TOTPDevice:
    """Begin enrolment: a new, unconfirmed authenticator device (its secret shown once as
    a QR code). An earlier unfinished enrolment is discarded."""
    if not user.is_active:
        raise PermissionDenied("An inactive user cannot set up two-factor sign-in.")
    if user_is_enrolled(user):
        raise ValidationError("Two-factor sign-in is already on.")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


def two_factor_enrolment_confirm(*, user: User, device: TOTPDevice, code: str) -> list[str]:
    """Finish enrolment with a code from the app (proof it holds the secret): the device
    is confirmed, ten backup codes are made and returned — to be shown this once."""
    if device.user_id != user.pk or device.confirmed:
        raise ValidationError("This set-up is no longer pending: start again.")
    if _throttled_until(device) is not None:
        raise ValidationError({"code": "Too many wrong codes: wait a few seconds and try again."})
    # Outside the transaction: a wrong code's throttle count must stay (module doc).
    if not device.verify_token(normalise_code(code)):
        raise ValidationError({"code": "That code is not right: check the app shows Baton and try the newest code."})
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        codes = _new_backup_codes(user)
        _audit(actor=user, user=user, action=AuditAction.TWO_FACTOR_ENABLED, before="off", after="on")
    return codes


def two_factor_backup_codes_regenerate(*, user: User, password: str = "", code: str = "") -> list[str]:
    """Ten new backup codes in place of the old ones (password or a current code first)."""
    if not user_is_enrolled(user):
        raise ValidationError("Two-factor sign-in is off: there are no backup codes to replace.")
    _confirm_identity(user=user, password=password, code=code)
    with transaction.atomic():
        return _new_backup_codes(user)


def two_factor_disable(*, user: User, password: str = "", code: str = "") -> None:
    """Turn the user's own two-factor off (password or a current code first). Refused
    while the organisation requires it of them: then only an admin's reset removes it."""
    if two_factor_required_for(user):
        raise ValidationError("Your organisation requires two-factor sign-in for managers and admins.")
    if not user_is_enrolled(user):
        raise ValidationError("Two-factor sign-in is already off.")
    _confirm_identity(user=user, password=password, code=code)
    with transaction.atomic():
        _delete_devices(user)
        _audit(actor=user, user=user, action=AuditAction.TWO_FACTOR_RESET, before="on", after="off")


@transaction.atomic
def two_factor_reset(*, actor: User, user: User) -> bool:
    """An admin removes a user's devices (a lost phone): the user signs in with their
    password alone and may enrol again — or must, if the organisation requires it of
    them. Recorded with the admin as the actor. Whether the user had two-factor on."""
    if not (actor.is_active and actor.is_admin_role):
        raise PermissionDenied("Only an admin may reset someone's two-factor sign-in.")
    had_any = _delete_devices(user)
    _audit(
        actor=actor,
        user=user,
        action=AuditAction.TWO_FACTOR_RESET,
        before="on" if had_any else "off",
        after="off",
    )
    return had_any
