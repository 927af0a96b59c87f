"""Patrols (巡检): routes of checkpoints with printed QR codes, schedules, runs, check-ins, findings.

A route belongs to one estate; its checkpoints carry a random, unguessable ``code`` printed as a QR
code. A schedule says on which weekdays a route is walked and within which time window; the planner
creates one ``PatrolRun`` per schedule and day. A guard scanning a checkpoint's QR code records a
``CheckIn`` on the run of that route whose window is open. After the window closes the run is
completed, partial or missed; findings on the way become work orders.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType, field
from linli.core.models import TimeStampedModel

CODE_BYTES = 16  # 128 random bits → 22 URL-safe characters


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


class PatrolRoute(TimeStampedModel):
    """巡检路线: an ordered list of checkpoints in one estate."""

    estate = models.ForeignKey("places.Region", on_delete=models.PROTECT, related_name="patrol_routes")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    active = models.BooleanField(default=True)

    catalog = Catalog(
        purpose=_("物业安全巡检：路线与巡检点管理"),
        basis=Basis.NOT_PI,
        level=Level.L3,
        retention=_("长期（停用后保留历史）"),
        recipients=_("物业"),
        note=_("安防布局数据，仅限物业人员"),
    )

    class Meta:
        ordering = ["estate", "name", "pk"]
        constraints = [models.UniqueConstraint(fields=["estate", "name"], name="patrol_route_unique_name")]

    def __str__(self) -> str:
        return self.name


class Checkpoint(TimeStampedModel):
    """巡检点 with its printed QR code (the ``code`` identifies it; it cannot be guessed)."""

    route = models.ForeignKey(PatrolRoute, on_delete=models.CASCADE, related_name="checkpoints")
    order = models.PositiveSmallIntegerField(default=1)
    name = models.CharField(max_length=100)
    location = models.CharField(max_length=200, blank=True, default="")
    building = models.ForeignKey(
        "places.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="patrol_checkpoints"
    )
    facility = models.ForeignKey(
        "places.Facility", null=True, blank=True, on_delete=models.SET_NULL, related_name="patrol_checkpoints"
    )
    code = models.CharField(max_length=43, unique=True, default=new_code)
    active = models.BooleanField(default=True)

    catalog = Catalog(
        purpose=_("物业安全巡检：路线与巡检点管理"),
        basis=Basis.NOT_PI,
        level=Level.L3,
        retention=_("长期（停用后保留历史）"),
        recipients=_("物业"),
        fields={"code": field(level=Level.L3, note=_("二维码中的随机令牌，仅巡检管理权限可见"))},
    )

    class Meta:
        ordering = ["route", "order", "pk"]

    def __str__(self) -> str:
        return self.name


class PatrolSchedule(TimeStampedModel):
    """巡检计划: the weekdays and the time window in which a route is walked."""

    route = models.ForeignKey(PatrolRoute, on_delete=models.CASCADE, related_name="schedules")
    weekdays = models.CharField(
        max_length=7, default="1234567", help_text=_("ISO 星期几：1=周一 … 7=周日，如 12345")
    )
    start_time = models.TimeField()
    window_minutes = models.PositiveSmallIntegerField(default=60, help_text=_("须在开始后多少分钟内完成"))
    guards = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="patrol_schedules",
        help_text=_("指定的保安；为空时本小区任一保安均可执行"),
    )
    active = models.BooleanField(default=True)

    catalog = Catalog(
        purpose=_("物业安全巡检：排班"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("长期（停用后保留历史）"),
        recipients=_("物业"),
        fields={"guards": field(pi=PIType.GENERAL, note=_("指派的员工账号"))},
    )

    class Meta:
        ordering = ["route", "start_time", "pk"]

    def __str__(self) -> str:
        return f"{self.route} {self.start_time:%H:%M}"


class RunStatus(models.TextChoices):
    PLANNED = "planned", _("待执行")
    IN_PROGRESS = "in_progress", _("进行中")
    COMPLETED = "completed", _("已完成")
    PARTIAL = "partial", _("部分完成")
    MISSED = "missed", _("漏巡")


OPEN_STATUSES = (RunStatus.PLANNED, RunStatus.IN_PROGRESS)


class PatrolRun(TimeStampedModel):
    """One walk of a route for one schedule on one day (unique per schedule and date)."""

    schedule = models.ForeignKey(PatrolSchedule, on_delete=models.PROTECT, related_name="runs")
    route = models.ForeignKey(PatrolRoute, on_delete=models.PROTECT, related_name="runs")
    estate = models.ForeignKey("places.Region", on_delete=models.PROTECT, related_name="patrol_runs")
    date = models.DateField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PLANNED)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="patrol_runs"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expected = models.PositiveSmallIntegerField(default=0, help_text=_("应到巡检点数"))
    checked = models.PositiveSmallIntegerField(default=0, help_text=_("已签到巡检点数"))
    notified_at = models.DateTimeField(null=True, blank=True, help_text=_("漏巡通知发送时间"))

    catalog = Catalog(
        purpose=_("物业安全巡检：执行记录与考核"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("3 年"),
        recipients=_("物业"),
        fields={"started_by": field(pi=PIType.GENERAL, note=_("执行巡检的员工账号"))},
    )

    class Meta:
        ordering = ["-window_start", "pk"]
        constraints = [models.UniqueConstraint(fields=["schedule", "date"], name="patrol_run_unique_day")]
        indexes = [
            models.Index(fields=["estate", "date"]),
            models.Index(fields=["status", "window_end"]),
        ]

    def __str__(self) -> str:
        return f"{self.route} {self.window_start:%Y-%m-%d %H:%M}"


class CheckInSource(models.TextChoices):
    QR = "qr", _("扫码")
    MANUAL = "manual", _("手动")


class CheckIn(models.Model):
    """A guard at a checkpoint during a run (one per run and checkpoint)."""

    run = models.ForeignKey(PatrolRun, on_delete=models.CASCADE, related_name="checkins")
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="checkins")
    guard = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patrol_checkins"
    )
    at = models.DateTimeField()
    source = models.CharField(max_length=8, choices=CheckInSource.choices, default=CheckInSource.QR)
    note = models.CharField(max_length=200, blank=True, default="")

    catalog = Catalog(
        purpose=_("物业安全巡检：执行记录与考核"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("3 年"),
        recipients=_("物业"),
        pi=PIType.GENERAL,
        note=_("员工在工作时间于固定巡检点的签到记录，不做连续定位"),
        fields={"source": field(pi=PIType.NONE), "note": field(pi=PIType.NONE)},
    )

    class Meta:
        ordering = ["run", "at", "pk"]
        constraints = [models.UniqueConstraint(fields=["run", "checkpoint"], name="patrol_checkin_unique")]

    def __str__(self) -> str:
        return f"{self.checkpoint} @ {self.at:%H:%M}"


class Finding(TimeStampedModel):
    """A problem a guard found on a patrol; it becomes a work order (common-area repair)."""

    run = models.ForeignKey(PatrolRun, on_delete=models.CASCADE, related_name="findings")
    checkpoint = models.ForeignKey(
        Checkpoint, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patrol_findings"
    )
    description = models.TextField()
    workorder_id = models.BigIntegerField(null=True, blank=True, help_text=_("生成的工单编号"))

    catalog = Catalog(
        purpose=_("物业安全巡检：问题上报与整改"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("3 年"),
        recipients=_("物业"),
        fields={"reporter": field(pi=PIType.GENERAL, note=_("上报问题的员工账号"))},
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.description[:30]


class FindingPhoto(models.Model):
    """A photo of a finding, re-encoded without metadata, stored privately (served through a view)."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to="patrols/findings/%Y/%m/", max_length=200)
    content_type = models.CharField(max_length=32)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()

    catalog = Catalog(
        purpose=_("物业安全巡检：问题上报与整改"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("3 年"),
        recipients=_("物业"),
        pi=PIType.GENERAL,
        note=_("公共区域现场照片，可能拍到人员；已去除 EXIF 元数据，仅经权限校验的页面提供"),
    )

    class Meta:
        ordering = ["finding", "pk"]

    def __str__(self) -> str:
        return f"{self.finding_id}/{self.pk}"
