"""Template context: the signed-in user's unread message count (the badge on the console header and
the H5 top bar)."""

from __future__ import annotations

from linli.messaging.selectors import unread_count


def inbox(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread": unread_count(user)}
