"""Protection on the open internet: login lockout, the password-reset limit, sessions."""
