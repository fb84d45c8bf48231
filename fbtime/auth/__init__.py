"""Signing in and staying signed in: saved logins, token renewal, OAuth, who am I.

* :mod:`.connection`: the one precedence rule (arguments > environment > saved login).
* :mod:`.tokens`: saved profiles, in the OS keyring or a private file.
* :mod:`.profile_auth`: a saved login as requests auth, renewed before expiry or on a 401.
* :mod:`.oauth`: the authorization-code sign-in (``fbtime login``).
* :mod:`.identity`: ``users/me``: who signed in and their businesses.

Nothing here imports pandas, or anything above it (``fbtime.api`` builds on this).
"""
