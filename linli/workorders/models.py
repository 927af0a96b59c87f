"""Work orders (工单): repairs, complaints, suggestions and incidents, their history, photos and charges;
technicians' duty rosters and the response/completion SLA per kind.

The state machine lives in ``linli.workorders.services``; models only hold the data.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType, field
from linli.core.fields import EncryptedTextField
from linli.core.models import TimeStampedModel
from linli.people.models import Person
from linli.places.models import Region, Room


class Kind(models.TextChoices):
    REPAIR_PRIVATE = "repair_private", _("户内维修")
    REPAIR_COMMON = "repair_common", _("公共区域维修")
    COMPLAINT = "complaint", _("投诉")
    SUGGESTION = "suggestion", _("建议")
    INCIDENT = "incident", _("突发事件")


# Default SLA (response minutes, completion minutes) when an estate has no policy for a kind.
DEFAULT_SLA: dict[str, tuple[int, int]] = {
    Kind.REPAIR_PRIVATE: (30, 24 * 60),
    Kind.REPAIR_COMMON: (30, 24 * 60),
    Kind.COMPLAINT: (60, 72 * 60),
    Kind.SUGGESTION: (24 * 60, 7 * 24 * 60),
    Kind.INCIDENT: (10, 4 * 60),
}


class Source(models.TextChoices):
    RESIDENT = "resident", _("居民报修")
    STAFF = "staff", _("物业受理")
    PATROL = "patrol", _("巡检发现")
    DEVICE = "device", _("设备告警")
    CITY = "city", _("城市平台")


class State(models.TextChoices):
    NEW = "new", _("待派单")
    ASSIGNED = "assigned", _("已派单")
    ACCEPTED = "accepted", _("已接单")
    IN_PROGRESS = "in_progress", _("处理中")
    DONE = "done", _("已完成")
    RATED = "rated", _("已评价")
    CANCELLED = "cancelled", _("已取消")


OPEN_STATES = (State.NEW, State.ASSIGNED, State.ACCEPTED, State.IN_PROGRESS)
# States in which the technician has not yet responded (accepted) the order.
UNANSWERED_STATES = (State.NEW, State.ASSIGNED)


class WorkOrder(TimeStampedModel):
    """One request for work in an estate, from a resident, staff, a patrol, a device or the city platform."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="workorders")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.STAFF)
    source_ref = models.CharField(
        max_length=100, blank=True, default="", help_text=_("来源系统的事件编号（用于去重）")
    )
    title = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="workorders")
    building = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="building_workorders"
    )
    location = models.CharField(max_length=200, blank=True, default="")
    reporter = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="workorders"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact_phone = EncryptedTextField(blank=True, default="")
    preferred_time = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.NEW, db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_workorders",
    )
    response_due_at = models.DateTimeField(null=True, blank=True)
    completion_due_at = models.DateTimeField(null=True, blank=True)
    response_breached_at = models.DateTimeField(
        null=True, blank=True, help_text=_("响应超时并已上报主管的时间")
    )
    completion_breached_at = models.DateTimeField(
        null=True, blank=True, help_text=_("完成超时并已上报主管的时间")
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.CharField(max_length=500, blank=True, default="")
    reopen_count = models.PositiveSmallIntegerField(default=0)
    billed_bill_id = models.BigIntegerField(null=True, blank=True, help_text=_("维修费用生成的账单编号"))

    catalog = Catalog(
        purpose=_("物业报修、投诉建议与突发事件处置"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("办结后 3 年"),
        recipients=_("物业公司（客服、维修技师、主管）"),
        pi=PIType.GENERAL,
        fields={
            "reporter": field(pi=PIType.GENERAL, level=Level.L3),
            "created_by": field(pi=PIType.GENERAL, level=Level.L2),
            "assignee": field(pi=PIType.GENERAL, level=Level.L2),
            "contact_phone": field(pi=PIType.GENERAL, level=Level.L3, encrypted=True),
            "description": field(pi=PIType.GENERAL, level=Level.L2, note=_("居民描述，可能含个人信息")),
            "rating_comment": field(pi=PIType.GENERAL, level=Level.L2),
        },
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_ref"],
                condition=~models.Q(source_ref=""),
                name="workorder_unique_source_ref",
            ),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="workorder_rating_1_5",
            ),
        ]
        indexes = [
            models.Index(fields=["estate", "state"]),
            models.Index(fields=["assignee", "state"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class WorkOrderPhoto(TimeStampedModel):
    """A photo attached to an order (re-encoded on upload, so no EXIF/location data is kept)."""

    class Stage(models.TextChoices):
        REPORT = "report", _("报修照片")
        RESULT = "result", _("完工照片")

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to="workorders/", max_length=200)
    content_type = models.CharField(max_length=20)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.REPORT)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    catalog = Catalog(
        purpose=_("报修现场照片"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("办结后 3 年"),
        recipients=_("物业公司"),
        pi=PIType.GENERAL,
        note=_("上传时重新编码，去除 EXIF（含拍摄位置）"),
        fields={
            "image": field(pi=PIType.GENERAL, level=Level.L2, note=_("照片可能拍到室内或人员")),
            "uploaded_by": field(pi=PIType.GENERAL, level=Level.L2),
        },
    )

    class Meta:
        ordering = ["order", "pk"]


class EventKind(models.TextChoices):
    CREATED = "created", _("创建")
    ASSIGNED = "assigned", _("派单")
    ACCEPTED = "accepted", _("接单")
    STARTED = "started", _("开始处理")
    FINISHED = "finished", _("完成")
    RATED = "rated", _("评价")
    CANCELLED = "cancelled", _("取消")
    REOPENED = "reopened", _("重新打开")
    COMMENT = "comment", _("备注")
    PHOTO = "photo", _("上传照片")
    CHARGE = "charge", _("费用")
    BILLED = "billed", _("费用入账")
    UNDISPATCHED = "undispatched", _("无值班技师")
    RESPONSE_BREACH = "response_breach", _("响应超时")
    COMPLETION_BREACH = "completion_breach", _("完成超时")


class WorkOrderEvent(models.Model):
    """Append-only history of an order: transitions, comments, assignments, escalations and charges."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    from_state = models.CharField(max_length=16, blank=True, default="")
    to_state = models.CharField(max_length=16, blank=True, default="")
    note = models.CharField(max_length=1000, blank=True, default="")

    catalog = Catalog(
        purpose=_("工单处理过程记录"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("办结后 3 年"),
        recipients=_("物业公司；报修居民可查看本人工单的记录"),
        pi=PIType.GENERAL,
        fields={"actor": field(pi=PIType.GENERAL, level=Level.L2)},
    )

    class Meta:
        ordering = ["order", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"


class DutyRoster(TimeStampedModel):
    """A technician's shift: on a weekday (every week) or on one date, from start to end time (an end
    before the start means the shift runs past midnight), for some kinds and optionally some buildings."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="duty_rosters")
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duty_rosters"
    )
    weekday = models.PositiveSmallIntegerField(null=True, blank=True, help_text=_("0=周一 … 6=周日"))
    date = models.DateField(null=True, blank=True)
    start_time = models.TimeField()
    end_time = models.TimeField()
    kinds = models.JSONField(default=list, blank=True, help_text=_("负责的工单类型；为空表示全部"))
    buildings = models.ManyToManyField(Region, blank=True, related_name="+")

    catalog = Catalog(
        purpose=_("维修技师排班与自动派单"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("排班结束后 1 年"),
        recipients=_("物业公司"),
        pi=PIType.GENERAL,
        fields={"technician": field(pi=PIType.GENERAL, level=Level.L2)},
    )

    class Meta:
        ordering = ["estate", "weekday", "date", "start_time", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(weekday__isnull=False) & models.Q(date__isnull=True))
                | (models.Q(weekday__isnull=True) & models.Q(date__isnull=False)),
                name="roster_weekday_xor_date",
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__isnull=True) | models.Q(weekday__lte=6), name="roster_weekday_0_6"
            ),
        ]


class SlaPolicy(TimeStampedModel):
    """Response and completion time limits for one kind of order in one estate."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="sla_policies")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    response_minutes = models.PositiveIntegerField()
    completion_minutes = models.PositiveIntegerField()

    catalog = Catalog(
        purpose=_("工单时限设置"),
        basis=Basis.NOT_PI,
        level=Level.L1,
        retention=_("长期"),
        recipients=_("物业公司"),
    )

    class Meta:
        ordering = ["estate", "kind"]
        constraints = [models.UniqueConstraint(fields=["estate", "kind"], name="sla_unique_estate_kind")]


class Charge(TimeStampedModel):
    """A parts or labour line of a private repair, billed to the room when the order is finished."""

    class LineKind(models.TextChoices):
        PARTS = "parts", _("材料费")
        LABOUR = "labour", _("人工费")

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="charges")
    kind = models.CharField(max_length=10, choices=LineKind.choices)
    description = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField(default=1)
    unit_price_fen = models.PositiveIntegerField()
    amount_fen = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    catalog = Catalog(
        purpose=_("有偿维修费用结算"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("账务结清后 10 年（会计档案）"),
        recipients=_("物业公司财务"),
        pi=PIType.NONE,
        fields={"created_by": field(pi=PIType.GENERAL, level=Level.L2)},
    )

    class Meta:
        ordering = ["order", "pk"]
