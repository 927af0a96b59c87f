"""``linli verify_audit_chain``: check the audit log's hash chain (R49). Non-zero exit on tampering."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from linli.core import audit
from linli.core.audit import GENESIS
from linli.core.models import AuditEvent

PURGE_OBJECT = "core.auditevent"


def _purge_anchor(first: AuditEvent) -> str | None:
    """After a retention purge the oldest kept row points at a deleted row. The purge recorded that
    hash (``detail.anchor_hash``) in its own, chained audit event; accept it only from there."""
    if first.prev_hash == GENESIS:
        return None
    attested = AuditEvent.objects.filter(
        action=audit.Action.AUDIT_PURGE,
        object_type=PURGE_OBJECT,
        detail__anchor_hash=first.prev_hash,
        detail__first_kept_id=first.pk,
    )
    return first.prev_hash if attested.exists() else None


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exits with an error naming the first bad row."

    def handle(self, *args, **options):
        ok, bad_id, count = audit.verify_chain()
        if not ok:
            first = AuditEvent.objects.order_by("id").first()
            anchor = _purge_anchor(first) if first is not None and first.pk == bad_id else None
            if anchor is not None:
                ok, bad_id, count = audit.verify_chain(anchor=anchor)
        if not ok:
            raise CommandError(
                f"audit chain broken at row id={bad_id} (after {count} valid rows): the row was edited, "
                f"deleted or inserted out of order"
            )
        self.stdout.write(self.style.SUCCESS(f"audit chain OK: {count} rows verified"))
