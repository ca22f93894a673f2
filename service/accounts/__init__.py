"""People: auditors and admins, their sign-in, sessions, lockout and personal API tokens."""
