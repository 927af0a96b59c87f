"""System checks for accounts (R39, R81): no shared/default accounts and no default passwords.

They read the database, so they run only when a database is named:
``linli check --database default`` (CI and container start) — not on every management command.
"""

from __future__ import annotations

from django.core import checks
from django.db import DatabaseError

RESERVED_USERNAMES = ("admin", "root", "sa", "test")
# Passwords tried against accounts that never changed their password (plus the username itself).
DEFAULT_PASSWORDS = ("admin", "123456", "12345678", "password", "admin123", "Admin@123", "linli")


def check_default_accounts(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    if not databases:
        return []
    from django.db.models import Q

    from linli.accounts.models import User

    errors: list[checks.CheckMessage] = []
    try:
        reserved = Q()
        for name in RESERVED_USERNAMES:
            reserved |= Q(username__iexact=name)
        for username in User.objects.filter(reserved, is_active=True).values_list("username", flat=True):
            errors.append(
                checks.Error(
                    f"Active user {username!r} has a shared/default username.",
                    hint="Disable it and give each administrator a personal account (R39).",
                    obj=username,
                    id="accounts.E001",
                )
            )
        for user in User.objects.filter(is_active=True, kind="staff", password_changed_at__isnull=True):
            if not user.password or not user.has_usable_password():
                errors.append(
                    checks.Error(
                        f"Active staff user {user.username!r} has no usable password set.",
                        hint="Set a random initial password (changed at first sign-in) "
                        "or disable the account.",
                        obj=user.username,
                        id="accounts.E002",
                    )
                )
                continue
            if any(user.check_password(p) for p in (user.username, *DEFAULT_PASSWORDS)):
                errors.append(
                    checks.Error(
                        f"Active staff user {user.username!r} has a known default password.",
                        hint="Reset it to a random initial password and force a change "
                        "at first sign-in (R39).",
                        obj=user.username,
                        id="accounts.E003",
                    )
                )
    except DatabaseError:  # tables not migrated yet: nothing to check
        return []
    return errors
