"""The password-reset request page, limited per client address and per e-mail address."""

from __future__ import annotations

from django.contrib.auth import views as auth_views

from accounts.security.forms import PasswordResetRequestForm
from accounts.security.lockout import client_address
from accounts.security.throttle import password_reset_limit

RESET_LIMITED_MESSAGE = "Too many reset requests. Try again later."


class PasswordResetRequestView(auth_views.PasswordResetView):
    """Django's reset page, with the outbox form and the reset limit. A limited request
    gets the same answer whether the address belongs to someone or not, and sends nothing."""

    form_class = PasswordResetRequestForm
    extra_context = {"title": "Reset your password"}

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        if not password_reset_limit().hit(f"address:{client_address(self.request) or 'unknown'}", f"email:{email}"):
            form.add_error(None, RESET_LIMITED_MESSAGE)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


password_reset = PasswordResetRequestView.as_view()
