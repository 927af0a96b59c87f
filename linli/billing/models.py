"""Billing: fee items, meter readings, bill runs, bills, payments, adjustments, refunds, reminders.

Money is integer fen (分) in ``BigIntegerField`` columns, never float. The ledger of one bill is
its amount and late fee, minus the allocations of paid payments, minus approved adjustments
(discounts, waivers), plus approved refund lines; ``linli.billing.selectors.ledger_totals`` sums it
from these rows and the services keep the cached ``paid_fen``/``adjusted_fen``/``status`` of each
bill equal to it. A bill's arrears never goes below zero.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType, field
from linli.core.models import TimeStampedModel


class FeeKind(models.TextChoices):
    PROPERTY_FEE = "property_fee", _("物业费")
    PARKING = "parking", _("车位费")
    WATER = "water", _("水费")
    ELECTRICITY = "electricity", _("电费")
    ONE_OFF = "one_off", _("一次性费用")
    CHARGE = "charge", _("有偿服务")


METER_KINDS = (FeeKind.WATER, FeeKind.ELECTRICITY)


class FeeItem(TimeStampedModel):
    """A fee an estate charges: 物业费 (area × unit price per m² per month), 车位费 (per space per
    month), 水费/电费 (meter usage × unit price) or a one-off fee billed in one period.

    Late fee (滞纳金): ``late_fee_per_mille`` ‰ of the bill amount per day after the due date plus
    ``late_fee_grace_days``, capped at the bill amount."""

    estate = models.ForeignKey("places.Region", on_delete=models.PROTECT, related_name="fee_items")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=FeeKind.choices)
    unit_price = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        help_text=_("单价（元）：物业费每平方米每月，车位每个每月，水电每单位读数"),
    )
    one_off_period = models.CharField(
        max_length=7, blank=True, default="", help_text=_("一次性费用的计费月份")
    )
    due_days = models.PositiveSmallIntegerField(default=15, help_text=_("账期结束后多少天到期"))
    late_fee_per_mille = models.DecimalField(max_digits=6, decimal_places=3, default=0)
    late_fee_grace_days = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    catalog = Catalog(
        purpose=_("物业收费项目设置"),
        basis=Basis.NOT_PI,
        level=Level.L1,
        retention=_("长期"),
        recipients=_("物业"),
    )

    class Meta:
        ordering = ["estate", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["estate", "name"], name="feeitem_unique_name")]

    def __str__(self) -> str:
        return self.name


class MeterReading(TimeStampedModel):
    """A water or electricity meter reading of a room for one month."""

    estate = models.ForeignKey("places.Region", on_delete=models.PROTECT, related_name="meter_readings")
    room = models.ForeignKey("places.Room", on_delete=models.PROTECT, related_name="meter_readings")
    kind = models.CharField(max_length=16, choices=[(k.value, k.label) for k in METER_KINDS])
    period = models.CharField(max_length=7, help_text=_("月份，如 2026-10"))
    previous = models.DecimalField(max_digits=12, decimal_places=2)
    current = models.DecimalField(max_digits=12, decimal_places=2)
    entered_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    import_job = models.ForeignKey("core.ImportJob", null=True, blank=True, on_delete=models.SET_NULL)

    catalog = Catalog(
        purpose=_("水电计量与收费"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("5 年"),
        recipients=_("物业"),
        pi=PIType.GENERAL,
        note=_("房屋用水用电量可反映居住情况"),
    )

    class Meta:
        ordering = ["-period", "room"]
        constraints = [
            models.UniqueConstraint(fields=["room", "kind", "period"], name="meter_unique_room_kind_period"),
        ]

    @property
    def usage(self):
        return self.current - self.previous


class BillRun(TimeStampedModel):
    """One bill run (出账) of an estate for a month (2026-10) or a quarter (2026-Q4), with progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("出账中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    estate = models.ForeignKey("places.Region", on_delete=models.PROTECT, related_name="bill_runs")
    period = models.CharField(max_length=7)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text=_("待处理房屋数"))
    done = models.PositiveIntegerField(default=0, help_text=_("已处理房屋数"))
    created_count = models.PositiveIntegerField(default=0, help_text=_("新生成账单数"))
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")
    created_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")

    catalog = Catalog(
        purpose=_("物业出账记录"),
        basis=Basis.NOT_PI,
        level=Level.L1,
        retention=_("5 年"),
        recipients=_("物业"),
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)


class BillStatus(models.TextChoices):
    UNPAID = "unpaid", _("未缴")
    PARTIAL = "partial", _("部分缴纳")
    PAID = "paid", _("已缴清")
    WAIVED = "waived", _("已减免")


OPEN_STATUSES = (BillStatus.UNPAID, BillStatus.PARTIAL)


class Bill(TimeStampedModel):
    """One charge to a room for one fee item and period. ``paid_fen``, ``adjusted_fen`` and
    ``status`` are derived from the ledger rows (allocations, adjustments, refund lines).

    ``room`` is empty only for a walk-in charge with no room to bill (temporary parking of a visiting
    vehicle): such a bill is created when the money is collected, names its origin in
    ``source_type``/``source_id`` and never counts as a room's arrears."""

    estate = models.ForeignKey("places.Region", on_delete=models.PROTECT, related_name="bills")
    room = models.ForeignKey(
        "places.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="bills"
    )
    household = models.ForeignKey(
        "people.Household", null=True, blank=True, on_delete=models.SET_NULL, related_name="bills"
    )
    fee_item = models.ForeignKey(
        FeeItem, null=True, blank=True, on_delete=models.PROTECT, related_name="bills"
    )
    bill_run = models.ForeignKey(
        BillRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="bills"
    )
    kind = models.CharField(max_length=16, choices=FeeKind.choices)
    title = models.CharField(max_length=200)
    period = models.CharField(max_length=7)
    quantity = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    unit_price = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    amount_fen = models.BigIntegerField()
    late_fee_fen = models.BigIntegerField(default=0)
    paid_fen = models.BigIntegerField(default=0)
    adjusted_fen = models.BigIntegerField(default=0)
    due_date = models.DateField()
    status = models.CharField(max_length=16, choices=BillStatus.choices, default=BillStatus.UNPAID)
    source_type = models.CharField(max_length=32, blank=True, default="")
    source_id = models.CharField(max_length=64, blank=True, default="")

    catalog = Catalog(
        purpose=_("物业服务收费"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("结清后 5 年（会计档案）"),
        recipients=_("物业、缴费人"),
        pi=PIType.GENERAL,
        note=_("个人财产信息：欠费情况仅向本户与有权限的物业人员展示"),
    )

    class Meta:
        ordering = ["-period", "room", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["room", "fee_item", "period"],
                condition=models.Q(fee_item__isnull=False),
                name="bill_unique_room_item_period",
            ),
            models.UniqueConstraint(
                fields=["source_type", "source_id"],
                condition=~models.Q(source_type=""),
                name="bill_unique_source",
            ),
            models.CheckConstraint(condition=models.Q(amount_fen__gte=0), name="bill_amount_nonneg"),
        ]
        indexes = [
            models.Index(fields=["estate", "period"]),
            models.Index(fields=["estate", "status", "due_date"]),
        ]

    @property
    def total_fen(self) -> int:
        return self.amount_fen + self.late_fee_fen

    @property
    def outstanding_fen(self) -> int:
        return self.amount_fen + self.late_fee_fen - self.paid_fen - self.adjusted_fen

    def __str__(self) -> str:
        return f"{self.title} {self.period}"


class Channel(models.TextChoices):
    ONLINE = "online", _("在线支付")
    CASH = "cash", _("现金")
    TRANSFER = "transfer", _("转账")


class Payment(TimeStampedModel):
    """Money received for one or more bills (through ``PaymentAllocation`` rows); ``room`` is empty
    for the payment of a walk-in charge (see ``Bill``)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待支付")
        PAID = "paid", _("已支付")
        CLOSED = "closed", _("已关闭")

    estate = models.ForeignKey("places.Region", on_delete=models.PROTECT, related_name="payments")
    room = models.ForeignKey(
        "places.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    payer_user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="billing_payments"
    )
    amount_fen = models.BigIntegerField()
    excess_fen = models.BigIntegerField(default=0, help_text=_("到账时账单已结清而原路退回的金额"))
    channel = models.CharField(max_length=16, choices=Channel.choices)
    provider = models.CharField(max_length=32, blank=True, default="")
    out_trade_no = models.CharField(max_length=64, unique=True)
    provider_trade_no = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    paid_at = models.DateTimeField(null=True, blank=True)
    receipt_no = models.CharField(max_length=32, null=True, blank=True, unique=True)
    note = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")

    catalog = Catalog(
        purpose=_("物业费收款与开具收据"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("5 年（会计档案）"),
        recipients=_("物业、支付机构"),
        pi=PIType.GENERAL,
        fields={"provider_trade_no": field(note=_("支付机构交易号"))},
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["estate", "status", "paid_at"])]


class PaymentAllocation(models.Model):
    """The part of a payment applied to one bill (counts once the payment is paid)."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="allocations")
    amount_fen = models.BigIntegerField()

    catalog = Catalog(
        purpose=_("收款核销到账单"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("5 年（会计档案）"),
        recipients=_("物业"),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "bill"], name="allocation_unique_bill"),
            models.CheckConstraint(condition=models.Q(amount_fen__gte=0), name="allocation_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id}→{self.bill_id}: {self.amount_fen}"


class PaymentNotification(models.Model):
    """A payment provider's notification, stored once per notification id (replays find it)."""

    provider = models.CharField(max_length=32)
    notification_id = models.CharField(max_length=64)
    out_trade_no = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    outcome = models.CharField(max_length=32, default="")
    received_at = models.DateTimeField(auto_now_add=True)

    catalog = Catalog(
        purpose=_("支付结果通知（防重放）"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("5 年"),
        recipients=_("物业、支付机构"),
    )

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "notification_id"], name="notification_unique_id")
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.notification_id}"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")


class Adjustment(TimeStampedModel):
    """A discount (优惠) or waiver (减免) of a bill: requested by one user, decided by another."""

    class Kind(models.TextChoices):
        DISCOUNT = "discount", _("优惠")
        WAIVER = "waiver", _("减免")

    estate = models.ForeignKey("places.Region", on_delete=models.PROTECT, related_name="bill_adjustments")
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="adjustments")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount_fen = models.BigIntegerField()
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    requested_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True, default="")

    catalog = Catalog(
        purpose=_("费用优惠与减免审批"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("5 年（会计档案）"),
        recipients=_("物业"),
        pi=PIType.GENERAL,
        fields={"reason": field(pi=PIType.GENERAL, note=_("减免原因可能涉及家庭困难等情况"))},
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="adjustment_positive")
        ]


class Refund(TimeStampedModel):
    """A refund of (part of) a payment; needs approval by someone other than the requester."""

    estate = models.ForeignKey("places.Region", on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_fen = models.BigIntegerField()
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    refund_no = models.CharField(max_length=64, unique=True)
    provider_refund_no = models.CharField(max_length=64, blank=True, default="")
    requested_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    catalog = Catalog(
        purpose=_("退款审批与办理"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("5 年（会计档案）"),
        recipients=_("物业、支付机构"),
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="refund_positive")]


class RefundLine(models.Model):
    """The part of a refund taken back from one bill's allocation (counts once approved)."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="refund_lines")
    amount_fen = models.BigIntegerField()

    catalog = Catalog(
        purpose=_("退款冲销到账单"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("5 年（会计档案）"),
        recipients=_("物业"),
    )

    def __str__(self) -> str:
        return f"{self.refund_id}→{self.bill_id}: {self.amount_fen}"


class ArrearsReminder(models.Model):
    """A reminder (催缴提醒) to a room's household about its unpaid bills, shown on the H5 page."""

    estate = models.ForeignKey("places.Region", on_delete=models.PROTECT, related_name="arrears_reminders")
    room = models.ForeignKey("places.Room", on_delete=models.PROTECT, related_name="arrears_reminders")
    household = models.ForeignKey(
        "people.Household", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    remind_date = models.DateField()
    bill_count = models.PositiveIntegerField()
    arrears_fen = models.BigIntegerField()
    sms_sent = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    catalog = Catalog(
        purpose=_("欠费催缴提醒"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("2 年"),
        recipients=_("物业、本户住户"),
        pi=PIType.GENERAL,
    )

    class Meta:
        ordering = ["-remind_date", "-pk"]
        constraints = [models.UniqueConstraint(fields=["room", "remind_date"], name="reminder_unique_day")]

    def __str__(self) -> str:
        return f"{self.room_id} {self.remind_date}"
