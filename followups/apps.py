from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "followups"

    def ready(self) -> None:
        # The one place domain signals of the lower apps are connected (see handoffs/signals.py).
        from followups import receivers  # noqa: F401
