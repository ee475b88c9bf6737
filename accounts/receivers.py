"""Receivers of Django's own signals in the accounts app, connected by AccountsConfig.ready()."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts.security.sessions import start_session_clock
from accounts.two_factor.middleware import note_sign_in_state


@receiver(user_logged_in, dispatch_uid="accounts.on_sign_in")
def on_sign_in(sender, *, request, user, **kwargs) -> None:
    # Written with the session the sign-in saves anyway, so that the first page after it
    # costs no query and no second write: when the session's idle and absolute clocks
    # started, and whether it owes a second step.
    start_session_clock(sender, request=request, user=user)
    note_sign_in_state(sender, request=request, user=user)
