"""The forms of two-factor sign-in. They check the shape of what was typed; whether a
code or a password is right is the services' to say (they count the wrong ones)."""

from __future__ import annotations

from django import forms

from accounts.two_factor.services import normalise_code


class CodeField(forms.CharField):
    """A code as typed: "123 456", "123456" or a backup code "abcd efgh"."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "off"}),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return normalise_code(value) if value else value


class VerifyForm(forms.Form):
    """The second step of signing in."""

    code = CodeField(
        label="Code",
        help_text="The six-digit code your authenticator app shows now, or one of your backup codes.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs["autofocus"] = True


class ConfirmEnrolmentForm(forms.Form):
    """Proof that the authenticator app holds the new secret."""

    code = CodeField(label="Code from the app", help_text="The six-digit code the app shows for Baton.")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError("Enter the six digits the app shows.")
        return code


class ConfirmIdentityForm(forms.Form):
    """Your password again, or a current code, before a sensitive change."""

    password = forms.CharField(
        label="Your password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = CodeField(label="Or a code from your app", required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        if not cleaned.get("password") and not cleaned.get("code"):
            raise forms.ValidationError("Enter your password or a code from your authenticator app.")
        return cleaned
