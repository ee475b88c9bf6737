"""Enumerations of the followups app."""

from django.db import models


class CheckInStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    DONE = "done", "Done"


class Channel(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    MESSAGE = "message", "Message"


class Sentiment(models.TextChoices):
    HAPPY = "happy", "Happy"
    NEUTRAL = "neutral", "Neutral"
    AT_RISK = "at_risk", "At risk"
