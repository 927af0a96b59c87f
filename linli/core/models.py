"""Base models shared by every app."""

from django.db import models

from linli.core.catalog import Basis, Catalog, Level, PIType


class TimeStampedModel(models.Model):
    """Creation and last-change time on every business row."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """Append-only security audit record (R49). Database triggers refuse UPDATE and DELETE; each row
    carries the hash of the previous one, so ``linli verify_audit_chain`` detects any edited row.

    Holds ids, never sensitive values.
    """

    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    result = models.CharField(max_length=16, default="success")
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_label = models.CharField(max_length=150, blank=True, default="")
    actor_role = models.CharField(max_length=32, blank=True, default="")
    actor_org_id = models.BigIntegerField(null=True, blank=True)
    ip = models.CharField(max_length=45, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    object_type = models.CharField(max_length=64, blank=True, default="", db_index=True)
    object_id = models.CharField(max_length=64, blank=True, default="")
    subject_person_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    estate_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    reason = models.CharField(max_length=300, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True, default="")
    hash = models.CharField(max_length=64, unique=True)

    catalog = Catalog(
        purpose="安全审计（网络安全法第21条、等保 8.1.4.3）",
        basis=Basis.LEGAL_DUTY,
        level=Level.L3,
        retention="至少 6 个月，默认 12 个月",
        recipients="审计管理员",
        pi=PIType.GENERAL,
        note="仅记录对象编号，不记录敏感值；追加写入、哈希链防篡改",
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["estate_id", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.actor_label}"


class ImportJob(models.Model):
    """A spreadsheet upload: validated whole, applied all-or-nothing, with a per-row error report."""

    class Status(models.TextChoices):
        REJECTED = "rejected", "有错误，未导入"
        APPLIED = "applied", "已导入"

    kind = models.CharField(max_length=32)
    estate = models.ForeignKey("places.Region", on_delete=models.PROTECT, related_name="import_jobs")
    file_name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices)
    total_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    duration_ms = models.PositiveIntegerField(default=0)

    catalog = Catalog(
        purpose="批量导入记录与错误报告",
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention="1 年",
        recipients="物业管理员",
        note="错误报告只含行号、列名与原因，不含证件号",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} ({self.status})"


class PeriodicRun(models.Model):
    """When each periodic job (``core.periodic``) last ran and how it ended; the row lock claims a run."""

    name = models.CharField(max_length=100, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=200, blank=True, default="")

    catalog = Catalog(
        purpose="后台定时任务运行记录",
        basis=Basis.NOT_PI,
        level=Level.L1,
        retention="长期",
        recipients="平台管理员",
    )

    def __str__(self) -> str:
        return self.name
