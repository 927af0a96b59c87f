"""Writing and verifying the append-only audit log (R49)."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from linli.core.middleware import current_request
from linli.core.models import AuditEvent

GENESIS = "0" * 64


class Action:
    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOGOUT = "auth.logout"
    LOCKOUT = "auth.lockout"
    PASSWORD_CHANGE = "auth.password_change"  # noqa: S105  (an action name, not a secret)
    TOTP_ENABLE = "auth.totp_enable"
    TOTP_DISABLE = "auth.totp_disable"
    OTP_SENT = "auth.otp_sent"
    TOKEN_CREATE = "auth.token_create"  # noqa: S105
    TOKEN_REVOKE = "auth.token_revoke"  # noqa: S105
    SESSION_EXPIRED = "auth.session_expired"
    PERMISSION_CHANGE = "orgs.permission_change"
    ACCOUNT_CREATE = "orgs.account_create"
    ACCOUNT_DISABLE = "orgs.account_disable"
    SENSITIVE_READ = "privacy.sensitive_read"
    REVEAL = "privacy.reveal"
    EXPORT = "privacy.export"
    SUBJECT_EXPORT = "privacy.subject_export"
    CONSENT_GRANT = "privacy.consent_grant"
    CONSENT_WITHDRAW = "privacy.consent_withdraw"
    AUDIT_READ = "privacy.audit_read"
    AUDIT_PURGE = "privacy.audit_purge"
    KEY_ROTATION = "privacy.key_rotation"
    IMPORT = "data.import"
    CREATE = "data.create"
    UPDATE = "data.update"
    DELETE = "data.delete"


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def compute_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(fields)).hexdigest()


HASHED_FIELDS = (
    "at",
    "action",
    "result",
    "actor_id",
    "actor_label",
    "actor_role",
    "actor_org_id",
    "ip",
    "request_id",
    "object_type",
    "object_id",
    "subject_person_id",
    "estate_id",
    "reason",
    "detail",
)


def _lock_chain() -> None:
    # Serialise writers so the chain never forks. SQLite takes its write lock at BEGIN (IMMEDIATE mode).
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(7261001)")


def record(
    action: str,
    *,
    actor: Any = None,
    result: str = "success",
    obj: Any = None,
    object_type: str = "",
    object_id: Any = "",
    subject_person_id: int | None = None,
    estate_id: int | None = None,
    reason: str = "",
    detail: dict | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Append one audit event. ``actor`` is an ``Actor``, a ``User`` or None (anonymous)."""
    user = getattr(actor, "user", actor)
    ctx = current_request()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        if estate_id is None:
            estate_id = getattr(obj, "estate_id", None)
    fields: dict[str, Any] = {
        "at": timezone.now(),
        "action": action,
        "result": result,
        "actor_id": getattr(user, "pk", None),
        "actor_label": actor_label or (getattr(user, "username", "") if user is not None else ""),
        "actor_role": getattr(actor, "primary_role", ""),
        "actor_org_id": getattr(actor, "org_id", None),
        "ip": ctx.ip if ctx else "",
        "request_id": ctx.request_id if ctx else "",
        "object_type": object_type,
        "object_id": str(object_id) if object_id not in (None, "") else "",
        "subject_person_id": subject_person_id,
        "estate_id": estate_id,
        "reason": reason[:300],
        "detail": detail or {},
    }
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        prev = last or GENESIS
        digest = compute_hash(prev, {**fields, "at": fields["at"].isoformat()})
        return AuditEvent.objects.create(prev_hash=prev, hash=digest, **fields)


_maintenance = False


def sqlite_audit_locked() -> int:
    """SQL function used by the SQLite triggers: 1 unless a maintenance block is running."""
    return 0 if _maintenance else 1


@contextmanager
def maintenance():
    """Allow UPDATE/DELETE of audit rows on this connection (retention purge and test teardown only)."""
    global _maintenance
    _maintenance = True
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT set_config('linli.audit_maintenance', 'on', false)")
    try:
        yield
    finally:
        _maintenance = False
        if connection.vendor == "postgresql" and connection.connection is not None:
            with connection.cursor() as cur:
                cur.execute("SELECT set_config('linli.audit_maintenance', 'off', false)")


def verify_chain(*, anchor: str = GENESIS) -> tuple[bool, int | None, int]:
    """Walk the chain in id order from ``anchor`` (the hash before the oldest kept row: the genesis,
    or after a retention purge the hash its audit record vouches for).
    Returns (ok, id of the first bad row, rows checked)."""
    prev = anchor
    count = 0
    for row in (
        AuditEvent.objects.order_by("id").values("id", "prev_hash", "hash", *HASHED_FIELDS).iterator(2000)
    ):
        fields = {k: row[k] for k in HASHED_FIELDS}
        fields["at"] = row["at"].isoformat()
        if row["prev_hash"] != prev or compute_hash(prev, fields) != row["hash"]:
            return False, row["id"], count
        prev = row["hash"]
        count += 1
    return True, None, count
