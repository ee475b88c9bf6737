"""People (team users and their roles) and the customer side: accounts, contacts,
ownership history, and the timeline every app writes to."""

from __future__ import annotations

import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.choices import CompanySize, EventVerb, Role


def _new_feed_token() -> str:
    return secrets.token_urlsafe(24)


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a known time zone.") from None


class Team(models.Model):
    """A group of users (sales, delivery, …) led by one manager, who receives the team's
    escalations and sees its pipeline, hand-offs and dropped-baton report."""

    name = models.CharField(max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person at the selling company who logs in: a sales rep, a delivery lead, a
    manager or an admin. Customers never log in; they are Contacts."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # Reminders wait for the recipient's working hours (local time), unless urgent.
    working_hours_start = models.PositiveSmallIntegerField(default=9, validators=[MaxValueValidator(23)])
    working_hours_end = models.PositiveSmallIntegerField(default=18, validators=[MaxValueValidator(24)])
    # One email a day with every reminder, instead of one email per reminder.
    wants_daily_digest = models.BooleanField(default=False)
    # Secret part of the user's iCalendar feed URL; rotating it revokes old subscriptions.
    feed_token = models.CharField(max_length=64, unique=True, default=_new_feed_token, editable=False)
    # Set when an admin invites the user from the People page (accounts.people): the
    # list tells "invited, never signed in" from an account made some other way.
    invited_at = models.DateTimeField(null=True, blank=True, editable=False)
    invited_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["first_name", "last_name", "username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(working_hours_start__lt=models.F("working_hours_end")),
                name="user_working_hours_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def manager(self) -> User | None:
        """Who receives this user's escalations: their team's manager (never themselves),
        while active — a deactivated manager is never given work or told (issue 15)."""
        if self.team_id is None:
            return None
        manager = self.team.manager
        return manager if manager is not None and manager.pk != self.pk and manager.is_active else None

    @property
    def is_rep(self) -> bool:
        return self.role == Role.REP

    @property
    def is_delivery(self) -> bool:
        return self.role == Role.DELIVERY

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def clean(self) -> None:
        super().clean()
        if self.working_hours_start >= self.working_hours_end:
            raise ValidationError({"working_hours_end": "Working hours must end after they start."})


class OrganisationSettings(models.Model):
    """The admin-editable thresholds of the whole organisation (a single row, pk=1):
    how many days before something counts as late, reminder delays, cadences."""

    meeting_within_days = models.PositiveSmallIntegerField(
        default=10, help_text="Days after the close by which the three-way meeting must be held."
    )
    meeting_schedule_within_days = models.PositiveSmallIntegerField(
        default=3, help_text="Days after the close by which the three-way meeting must be scheduled."
    )
    acceptance_within_days = models.PositiveSmallIntegerField(
        default=3, help_text="Days after the close by which a delivery owner must have accepted."
    )
    checkin_grace_days = models.PositiveSmallIntegerField(
        default=3, help_text="Days a check-in may be overdue before it counts as missed."
    )
    default_checkin_cadence = models.JSONField(
        default=list, blank=True, help_text="Days after the close of each check-in, e.g. [7, 30, 90]."
    )
    ghosted_after_days = models.PositiveSmallIntegerField(
        default=45, help_text="Days without logged contact after the close before the customer is 'ghosted'."
    )
    single_threaded_stages = models.JSONField(
        default=list, blank=True, help_text="Deal stages in which one customer contact is not enough."
    )
    escalate_after_hours = models.PositiveSmallIntegerField(
        default=24, help_text="Hours after a first reminder before the owner's manager is told."
    )
    escalate_to_admin_after_hours = models.PositiveSmallIntegerField(
        default=0, help_text="Hours after escalation before an admin is told (0: never)."
    )
    # The close gate: what a won close must bring along (the hand-off packet).
    gate_requires_context = models.BooleanField(
        default=True, db_default=True, help_text="A won close needs the lead source and the context filled."
    )
    gate_min_contacts = models.PositiveSmallIntegerField(
        default=2, db_default=2, help_text="Customer contacts with a role on the deal that a won close needs (0: none)."
    )
    gate_requires_promises = models.BooleanField(
        default=True,
        db_default=True,
        help_text="A won close needs the promises listed, or 'no promises were made' ticked.",
    )
    # The customer pulse.
    pulse_link_days = models.PositiveSmallIntegerField(
        default=30, db_default=30, help_text="Days a customer's pulse link stays valid."
    )
    pulse_followup_days = models.PositiveSmallIntegerField(
        default=3,
        db_default=3,
        help_text="Days within which someone must log a contact after a customer said 'at risk'.",
    )
    # Sign-in (accounts.two_factor): whether managers and admins must use a second factor.
    two_factor_required_for_staff = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Managers and admins must sign in with two-factor; they set it up at their next sign-in.",
    )

    class Meta:
        verbose_name = "organisation settings"
        verbose_name_plural = "organisation settings"
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="organisation_settings_single_row")]

    def __str__(self) -> str:
        return "Organisation settings"

    @classmethod
    def load(cls) -> OrganisationSettings:
        settings_row, _ = cls.objects.get_or_create(
            pk=1,
            defaults={"default_checkin_cadence": [7, 30, 90], "single_threaded_stages": ["propose", "negotiate"]},
        )
        return settings_row

    def clean(self) -> None:
        cadence = self.default_checkin_cadence
        if not isinstance(cadence, list) or not all(isinstance(day, int) and 0 < day <= 3650 for day in cadence):
            raise ValidationError({"default_checkin_cadence": "List whole numbers of days between 1 and 3650."})


class Account(models.Model):
    """A customer company. Its owner is the seller's go-to person for it: the rep during
    the sale, the delivery owner once they accept the hand-off (see OwnershipChange)."""

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    size = models.CharField(max_length=16, choices=CompanySize.choices, blank=True, default=CompanySize.UNKNOWN)
    address = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    # Where the row came from outside Baton (a CRM's webhook, an API client, an import):
    # the source's name and its own id, so that a second delivery updates instead of duplicating.
    external_source = models.CharField(max_length=40, blank=True, db_default="")
    external_id = models.CharField(max_length=100, blank=True, db_default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_accounts")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts")
    # Baton health, 0–100 from the account's open dropped batons; written by the
    # followups worker so that the account list can sort by it (null: not computed yet).
    health_score = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(100)])
    # Optimistic locking: an edit carries the version it started from and is refused
    # if someone saved in between, instead of silently overwriting their change.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(Lower("name"), name="account_name_lower_idx"),
            models.Index(fields=["owner", "name"], name="account_owner_name_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~models.Q(external_id=""),
                name="account_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OwnershipChange(models.Model):
    """One change of an account's owner: who took it, from whom, when, why and who did
    it. Append-only: the history of ownership is never rewritten or deleted."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="ownership_changes")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.account}: {self.from_user} → {self.to_user}"


class Contact(models.Model):
    """A person on the customer's side. Never logs in; is invited to the hand-off meeting
    and receives the customer summary."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    # Where the row came from outside Baton (a CRM's webhook, an API client, an import):
    # the source's name and its own id, so that a second delivery updates instead of duplicating.
    external_source = models.CharField(max_length=40, blank=True, db_default="")
    external_id = models.CharField(max_length=100, blank=True, db_default="")
    pulse_opted_out_at = models.DateTimeField(
        null=True, blank=True, help_text="When the contact asked never to get a pulse e-mail again."
    )
    # Set by followups.services.personal_data.contact_erase: the personal fields are
    # anonymised, the row stays (deals, meetings and pulses keep their shape), nothing is
    # ever sent to it again and it cannot be edited back into life.
    erased_at = models.DateTimeField(
        null=True, blank=True, help_text="When an admin erased the contact's personal data."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["first_name", "last_name"]
        constraints = [
            models.UniqueConstraint(
                "account",
                Lower("email"),
                condition=~models.Q(email=""),
                name="contact_email_unique_per_account",
                violation_error_message="Another contact of this account already has this email address.",
            ),
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~models.Q(external_id=""),
                name="contact_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def full_name(self) -> str:
        return str(self)


class TimelineEvent(models.Model):
    """One state change, written by the service that made it, in the same transaction.

    Every event belongs to an account (the account page shows them all) and has a
    subject: the deal it concerns (the deal and hand-off pages show the deal's events),
    or the account itself. The subject is generic because this bottom-layer app cannot
    name the deal model of the app above it.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    subject_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    subject_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=32, choices=EventVerb.choices)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "-created_at"], name="event_subject_idx"),
            models.Index(fields=["account", "-created_at"], name="event_account_idx"),
        ]

    def __str__(self) -> str:
        return self.message


class ApiToken(models.Model):
    """A personal token with which a user's scripts call the REST API as that user.

    The secret is shown once, when the token is created, and never stored: only its
    SHA-256 digest is kept (a lookup by digest, so that checking a token compares no
    secret byte by byte), and its first characters (`prefix`) to recognise it in a list.
    A token is refused once revoked, past `expires_at`, or when its user is inactive.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. “HubSpot sync”.")
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Written at most once a minute (accounts.services_api.api_token_touch), not on every call.
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class IdempotencyKey(models.Model):
    """A POST to the API made with an `Idempotency-Key` header, and the answer it got.

    The row is inserted in the transaction that runs the request, so that the change and
    the stored answer commit (or roll back) together; a retry with the same key and the
    same body gets the stored answer again instead of running twice, and the same key
    with another body is refused. Kept 24 hours (accounts.services_api.idempotency_keys_purge).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(blank=True, default=b"")
    response_content_type = models.CharField(max_length=100, blank=True)
    response_location = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"


class AuditEntry(models.Model):
    """One recorded change to people, teams, organisation settings or playbooks (and a
    two-factor reset): who made it, when, to what, and each field's old → new value.

    Written by accounts.audit.audit_record inside the transaction of the change, so that a
    change is never without its entry; never edited. Secrets are never recorded (a
    password or a token is written as "changed").
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What was done, e.g. "user.invited", "user.updated", "user.deactivated", "team.created",
    # "settings.updated", "playbook.updated", "two_factor.reset" (accounts.audit.AuditAction).
    action = models.CharField(max_length=40)
    # What it was done to: "user", "team", "settings", "playbook", "contact" and its id.
    target_type = models.CharField(max_length=20)
    target_id = models.CharField(max_length=40, blank=True)
    # How the target was named then (a user deleted later is still named here).
    target_label = models.CharField(max_length=200, blank=True)
    # {field: [old, new]}, values as shown to people (JSON-safe).
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id", "-created_at"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.target_label or self.target_id}"
