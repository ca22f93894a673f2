"""Staff (auditors and admins) as every door they use sees them: who is signed in, what their role
lets them do, and how their pages are protected.

Beneath the doors: the accounts door (sign-in, /account, /admin) and the auditors' doors both ask
here, so neither imports the other.
"""
