"""``linli purge_audit --older-than-days N``: delete audit rows past retention (R49: keep ≥ 180 days)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from linli.core import audit
from linli.core.models import AuditEvent

MIN_DAYS = 180  # 网络安全法 Art 21(3): network logs kept at least six months


class Command(BaseCommand):
    help = "Delete audit rows older than N days (N ≥ 180). The purge itself is audited."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-days", type=int, required=True, dest="days")

    def handle(self, *args, days: int, **options):
        if days < MIN_DAYS:
            raise CommandError(f"--older-than-days must be at least {MIN_DAYS} (legal minimum retention)")
        cutoff = timezone.now() - timedelta(days=days)
        with transaction.atomic():
            # Delete a contiguous oldest prefix only, so the kept rows still form one chain.
            first_kept = AuditEvent.objects.filter(at__gte=cutoff).order_by("id").first()
            doomed = (
                AuditEvent.objects.all()
                if first_kept is None
                else AuditEvent.objects.filter(id__lt=first_kept.pk)
            )
            doomed = doomed.filter(at__lt=cutoff)
            last = doomed.order_by("-id").values("id", "hash").first()
            if last is None:
                self.stdout.write(f"nothing to purge (cutoff {cutoff.isoformat()})")
                return
            with audit.maintenance():
                deleted = AuditEvent.objects.filter(id__lte=last["id"]).delete()[0]
            kept = AuditEvent.objects.order_by("id").values_list("id", flat=True).first()
            audit.record(
                audit.Action.AUDIT_PURGE,
                actor_label="system:purge_audit",
                object_type="core.auditevent",
                reason=f"retention {days} days",
                detail={
                    "deleted": deleted,
                    "cutoff": cutoff.isoformat(),
                    "last_deleted_id": last["id"],
                    "anchor_hash": last["hash"],
                    "first_kept_id": kept,
                },
            )
        self.stdout.write(self.style.SUCCESS(f"purged {deleted} audit rows older than {cutoff.isoformat()}"))
