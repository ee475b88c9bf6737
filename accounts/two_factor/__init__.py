"""Two-factor sign-in: TOTP devices and one-time backup codes (django-otp)."""
