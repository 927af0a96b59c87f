"""Alarm handling (ack, clear, comment, assign), rules and webhooks, dispatch and escalation.

Raising is the engine's job (``engine.py``); everything a person does goes through here, audited in
the same transaction. Acknowledge and clear are independent: ``alarm_ack`` never clears and
``alarm_clear`` never acknowledges.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from linli.alarms.models import (
    Alarm,
    AlarmComment,
    AlarmEvent,
    AlarmEventKind,
    AlarmRule,
    Channel,
    Operator,
    RuleKind,
    RuleScope,
    RulesetVersion,
    Severity,
    WebhookEndpoint,
)
from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm, Role
from linli.places.selectors import require_estate

log = logging.getLogger("linli.alarms")


# ---------------------------------------------------------------- dispatch (after commit)


def schedule_dispatch(alarm_id: int, level: int = 0) -> None:
    """Notify (and open the work order of an equipment fault) once the raising transaction commits."""
    transaction.on_commit(lambda: alarm_dispatch_task.enqueue(alarm_id, level))


@task()
def alarm_dispatch_task(alarm_id: int, level: int = 0) -> dict:
    return alarm_dispatch(alarm_id=alarm_id, level=level)


def alarm_dispatch(*, alarm_id: int, level: int = 0) -> dict:
    """Send the notifications of one alarm at one level; idempotent (already sent targets are skipped)."""
    from linli.alarms import notify

    alarm = Alarm.objects.select_related("estate", "device", "rule").filter(pk=alarm_id).first()
    if alarm is None:
        return {}
    result: dict = dict(notify.send(alarm, level))
    if level == 0 and alarm.equipment_fault and alarm.workorder_id is None:
        result["workorder"] = alarm_open_workorder(alarm=alarm)
    return result


def _estate_operator(estate) -> Actor | None:
    """The actor a device acts through: the estate's first property admin."""
    from linli.orgs.selectors import actor_for_user, staff_over

    admin = staff_over(estate, roles=[Role.PROPERTY_ADMIN]).first()
    return actor_for_user(admin, via="system") if admin else None


@transaction.atomic
def alarm_open_workorder(*, alarm: Alarm) -> int | None:
    """Equipment fault → one repair work order (idempotent through source_ref ``alarm:<id>``)."""
    from linli.workorders.services import workorder_create

    actor = _estate_operator(alarm.estate)
    if actor is None:
        log.warning("no property admin for estate %s: no work order for alarm %s", alarm.estate_id, alarm.pk)
        return None
    order = workorder_create(
        actor=actor,
        estate=alarm.estate,
        kind="repair_common",
        title=alarm.title[:100],
        description=_("设备告警自动生成：%(t)s（设备 %(d)s）") % {"t": alarm.title, "d": alarm.device.key},
        location=(alarm.device.location or "")[:200],
        building=alarm.device.building,
        source="device",
        source_ref=f"alarm:{alarm.pk}",
    )
    if Alarm.objects.filter(pk=alarm.pk, workorder_id__isnull=True).update(workorder_id=order.pk):
        AlarmEvent.objects.create(
            alarm=alarm, at=timezone.now(), kind=AlarmEventKind.WORKORDER, note=str(order.pk)
        )
    alarm.workorder_id = order.pk
    return order.pk


def alarms_escalate(*, now: datetime | None = None) -> int:
    """Alarms not acknowledged within ``escalate_after_minutes`` notify the next level once."""
    now = now or timezone.now()
    due = Alarm.objects.filter(
        acked_at__isnull=True,
        cleared_at__isnull=True,
        escalated_at__isnull=True,
        escalate_after_minutes__isnull=False,
    ).order_by("pk")
    n = 0
    for alarm in due.iterator():
        if alarm.first_at + timedelta(minutes=alarm.escalate_after_minutes) > now:
            continue
        with transaction.atomic():
            if not Alarm.objects.filter(pk=alarm.pk, escalated_at__isnull=True).update(escalated_at=now):
                continue
            AlarmEvent.objects.create(
                alarm=alarm,
                at=now,
                kind=AlarmEventKind.ESCALATED,
                note=_("超过 %(m)s 分钟未确认") % {"m": alarm.escalate_after_minutes},
            )
            schedule_dispatch(alarm.pk, level=1)
        n += 1
    return n


# ---------------------------------------------------------------- handling


def _clean(text: str, *, field: str, max_length: int, required: bool = False) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationFailed(fields={field: [_("不能为空")]})
    if len(text) > max_length:
        raise ValidationFailed(fields={field: [_("不能超过 %(n)s 个字符") % {"n": max_length}]})
    return text


def _handle(actor: Actor, alarm: Alarm) -> None:
    actor.require(Perm.ALARMS_HANDLE, write=True)
    if alarm.health_sensitive and not actor.has(Perm.ALARMS_HEALTH_VIEW):
        raise NotFound()
    if not actor.in_scope_path(alarm.path):
        raise NotFound()


def _locked(alarm: Alarm) -> Alarm:
    return Alarm.objects.select_for_update().get(pk=alarm.pk)


@transaction.atomic
def alarm_ack(*, actor: Actor, alarm: Alarm, note: str = "") -> Alarm:
    """Acknowledge (does not clear). Acknowledging twice is a conflict."""
    _handle(actor, alarm)
    note = _clean(note, field="note", max_length=300)
    alarm = _locked(alarm)
    if alarm.acked_at is not None:
        raise Conflict(_("该告警已确认"))
    now = timezone.now()
    alarm.acked_at, alarm.acked_by = now, actor.user
    alarm.save(update_fields=["acked_at", "acked_by"])
    AlarmEvent.objects.create(alarm=alarm, at=now, kind=AlarmEventKind.ACKED, actor=actor.user, note=note)
    audit.record(Action.UPDATE, actor=actor, obj=alarm, detail={"op": "ack"})
    return alarm


@transaction.atomic
def alarm_clear(*, actor: Actor, alarm: Alarm, note: str = "") -> Alarm:
    """Clear (close) the alarm; it stays in "needs ack" until someone acknowledges it."""
    _handle(actor, alarm)
    note = _clean(note, field="note", max_length=300)
    alarm = _locked(alarm)
    if alarm.cleared_at is not None:
        raise Conflict(_("该告警已消除"))
    now = timezone.now()
    alarm.cleared_at, alarm.cleared_by, alarm.clear_reason = now, actor.user, "manual"
    alarm.save(update_fields=["cleared_at", "cleared_by", "clear_reason"])
    AlarmEvent.objects.create(alarm=alarm, at=now, kind=AlarmEventKind.CLEARED, actor=actor.user, note=note)
    audit.record(Action.UPDATE, actor=actor, obj=alarm, detail={"op": "clear"})
    return alarm


@transaction.atomic
def alarm_comment(*, actor: Actor, alarm: Alarm, body: str) -> AlarmComment:
    _handle(actor, alarm)
    body = _clean(body, field="body", max_length=2000, required=True)
    now = timezone.now()
    comment = AlarmComment.objects.create(alarm=alarm, author=actor.user, body=body, created_at=now)
    AlarmEvent.objects.create(alarm=alarm, at=now, kind=AlarmEventKind.COMMENTED, actor=actor.user)
    audit.record(Action.CREATE, actor=actor, obj=comment, estate_id=alarm.estate_id)
    return comment


def can_handle(user, alarm: Alarm) -> bool:
    """Whether ``user`` may handle ``alarm`` (scope, handle permission, health permission)."""
    from linli.core.errors import Unauthenticated
    from linli.orgs.selectors import actor_for_user

    try:
        a = actor_for_user(user)
    except Unauthenticated:
        return False
    if not a.has(Perm.ALARMS_HANDLE) or not a.in_scope_path(alarm.path):
        return False
    return not alarm.health_sensitive or a.has(Perm.ALARMS_HEALTH_VIEW)


@transaction.atomic
def alarm_assign(*, actor: Actor, alarm: Alarm, assignee_id: int | None) -> Alarm:
    """Assign to a staff user who may handle this alarm (or unassign with ``None``)."""
    from linli.accounts.models import User

    _handle(actor, alarm)
    assignee = None
    if assignee_id is not None:
        assignee = User.objects.filter(pk=assignee_id, is_active=True, kind="staff").first()
        if assignee is None or not can_handle(assignee, alarm):
            raise ValidationFailed(fields={"assignee_id": [_("该用户不能处理此告警")]})
    alarm = _locked(alarm)
    alarm.assignee = assignee
    alarm.save(update_fields=["assignee"])
    AlarmEvent.objects.create(
        alarm=alarm,
        at=timezone.now(),
        kind=AlarmEventKind.ASSIGNED,
        actor=actor.user,
        note=assignee.username if assignee else "",
    )
    audit.record(Action.UPDATE, actor=actor, obj=alarm, detail={"op": "assign", "assignee": assignee_id})
    return alarm


# ---------------------------------------------------------------- rules


def ruleset_bump() -> None:
    """Tell every engine (all gateways) to re-read the rules within a second."""
    token = uuid.uuid4().hex
    if not RulesetVersion.objects.filter(pk=1).update(token=token):
        RulesetVersion.objects.create(pk=1, token=token)


RULE_FIELDS = (
    "cause",
    "name",
    "kind",
    "point",
    "operator",
    "value",
    "duration_s",
    "window_s",
    "event",
    "clear_event",
    "rise_point",
    "rise",
    "scope",
    "severity",
    "schedule",
    "enabled",
    "auto_clear",
    "equipment_fault",
    "escalate_after_minutes",
    "notify_channels",
)


def _check_rule_write(actor: Actor, device) -> None:
    """Per-device rules: ``alarms.rules`` over the device's estate. Profile-level rules apply to every
    estate, so only platform operators may change them."""
    if device is None:
        if not actor.is_platform or actor.read_only:
            raise PermissionDenied(_("型号级规则作用于所有小区，仅平台运营方可修改"))
        return
    actor.require(Perm.ALARMS_RULES, write=True)
    if not actor.in_scope_path(device.path):
        raise NotFound()


def _check_time(text) -> bool:
    try:
        h, m = str(text).split(":")
        return 0 <= int(h) <= 24 and 0 <= int(m) < 60 and len(m) == 2
    except ValueError:
        return False


def _validate_rule(data: dict, profile) -> dict:
    errors: dict[str, list[str]] = {}
    kind = data.get("kind")
    if kind not in RuleKind.values:
        errors["kind"] = [_("无效的选项")]
    if data.get("severity") not in Severity.values:
        errors["severity"] = [_("无效的选项")]
    if data.get("scope", RuleScope.DEVICE) not in RuleScope.values:
        errors["scope"] = [_("无效的选项")]
    cause = (data.get("cause") or "").strip()
    if not re.fullmatch(r"[a-z0-9_-]{1,48}", cause):
        errors["cause"] = [_("只能包含小写字母、数字、下划线和连字符（不超过 48 个）")]
    name = (data.get("name") or "").strip()
    if not name or len(name) > 100:
        errors["name"] = [_("请填写名称（不超过 100 个字符）")]
    points = {p.get("key") for p in profile.points}
    events = {e.get("key") for e in profile.events}
    needs_point = kind in (RuleKind.THRESHOLD, RuleKind.DURATION, RuleKind.RATE)
    if needs_point or (kind == RuleKind.COMBINATION and data.get("point")):
        if data.get("point") not in points:
            errors["point"] = [_("该型号没有此监测点")]
        if data.get("operator") not in Operator.values:
            errors["operator"] = [_("无效的选项")]
        if data.get("value") is None:
            errors["value"] = [_("请填写阈值")]
    if kind == RuleKind.DURATION and not (1 <= int(data.get("duration_s") or 0) <= 7 * 86400):
        errors["duration_s"] = [_("持续时间应在 1 秒到 7 天之间")]
    if kind in (RuleKind.RATE, RuleKind.COMBINATION) and not (10 <= int(data.get("window_s") or 0) <= 86400):
        errors["window_s"] = [_("时间窗口应在 10 秒到 1 天之间")]
    if kind == RuleKind.EVENT and data.get("event") not in events:
        errors["event"] = [_("该型号没有此事件")]
    if kind == RuleKind.COMBINATION:
        if not data.get("event") and not data.get("point"):
            errors["event"] = [_("组合条件需要触发事件或触发监测点")]
        if data.get("event") and data["event"] not in events:
            errors["event"] = [_("该型号没有此事件")]
        if not data.get("rise_point") or data.get("rise") is None or float(data["rise"]) <= 0:
            errors["rise"] = [_("请填写上升监测点和上升幅度")]
    if data.get("clear_event") and data["clear_event"] not in events:
        errors["clear_event"] = [_("该型号没有此事件")]
    channels = data.get("notify_channels") or []
    if not isinstance(channels, list) or any(c not in Channel.values for c in channels):
        errors["notify_channels"] = [_("无效的通知渠道")]
    schedule = data.get("schedule") or {}
    if not isinstance(schedule, dict) or set(schedule) - {"days", "ranges"}:
        errors["schedule"] = [_("时间表格式无效")]
    else:
        days = schedule.get("days") or []
        ranges = schedule.get("ranges") or []
        if not isinstance(days, list) or any(not isinstance(d, int) or not 1 <= d <= 7 for d in days):
            errors["schedule"] = [_("星期应为 1–7")]
        elif not isinstance(ranges, list) or any(
            not isinstance(r, list | tuple) or len(r) != 2 or not all(_check_time(t) for t in r)
            for r in ranges
        ):
            errors["schedule"] = [_('时间段格式应为 ["HH:MM", "HH:MM"]')]
    esc = data.get("escalate_after_minutes")
    if esc is not None and not (1 <= int(esc) <= 10080):
        errors["escalate_after_minutes"] = [_("应在 1 到 10080 分钟之间")]
    if errors:
        raise ValidationFailed(fields=errors)
    data["cause"], data["name"] = cause, name
    return data


_DEFAULTS = {
    "point": "",
    "operator": "",
    "value": None,
    "duration_s": 0,
    "window_s": 0,
    "event": "",
    "clear_event": "",
    "rise_point": "",
    "rise": None,
    "scope": RuleScope.DEVICE,
    "severity": Severity.MINOR,
    "schedule": {},
    "enabled": True,
    "auto_clear": True,
    "equipment_fault": False,
    "escalate_after_minutes": None,
    "notify_channels": [Channel.CONSOLE],
}


@transaction.atomic
def rule_create(*, actor: Actor, profile, device=None, base: AlarmRule | None = None, **fields) -> AlarmRule:
    """A profile-level rule (``device`` None), a device override of ``base`` or an extra device rule."""
    _check_rule_write(actor, device)
    if device is not None and device.profile_id != profile.pk:
        raise ValidationFailed(fields={"device_id": [_("设备不属于该型号")]})
    if base is not None:
        if device is None or base.device_id is not None or base.profile_id != profile.pk:
            raise ValidationFailed(fields={"base_id": [_("只能覆盖本型号的型号级规则")]})
        if AlarmRule.objects.filter(device=device, base=base).exists():
            raise Conflict(_("该设备已覆盖此规则"))
        seed = {k: getattr(base, k) for k in RULE_FIELDS}
        fields = {**seed, **{k: v for k, v in fields.items() if v is not None}}
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationFailed(fields={k: [_("未知字段")] for k in unknown})
    data = _validate_rule({**_DEFAULTS, **fields}, profile)
    rule = AlarmRule.objects.create(profile=profile, device=device, base=base, **data)
    ruleset_bump()
    audit.record(
        Action.CREATE,
        actor=actor,
        obj=rule,
        estate_id=getattr(device, "estate_id", None),
        detail={"cause": rule.cause, "kind": rule.kind},
    )
    return rule


@transaction.atomic
def rule_update(*, actor: Actor, rule: AlarmRule, **changes) -> AlarmRule:
    _check_rule_write(actor, rule.device)
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise ValidationFailed(fields={k: [_("未知字段")] for k in unknown})
    data = {k: getattr(rule, k) for k in RULE_FIELDS}
    data.update(changes)
    data = _validate_rule(data, rule.profile)
    for k, v in data.items():
        setattr(rule, k, v)
    rule.save()
    ruleset_bump()
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=rule,
        estate_id=getattr(rule.device, "estate_id", None),
        detail={"fields": sorted(changes)},
    )
    return rule


@transaction.atomic
def rule_delete(*, actor: Actor, rule: AlarmRule) -> None:
    _check_rule_write(actor, rule.device)
    audit.record(Action.DELETE, actor=actor, obj=rule, estate_id=getattr(rule.device, "estate_id", None))
    rule.delete()
    ruleset_bump()


# ---------------------------------------------------------------- webhooks


@transaction.atomic
def webhook_create(*, actor: Actor, estate, name: str, url: str, min_severity: str = Severity.WARNING):
    """Register a push target; R74: private, loopback and link-local addresses are refused (400).
    Returns (endpoint, secret) — the secret is shown once."""
    from linli.alarms.notify import UrlRefused, check_url

    require_estate(actor=actor, estate=estate, perm=Perm.ALARMS_RULES, write=True)
    name = _clean(name, field="name", max_length=100, required=True)
    url = _clean(url, field="url", max_length=500, required=True)
    if min_severity not in Severity.values:
        raise ValidationFailed(fields={"min_severity": [_("无效的选项")]})
    try:
        check_url(url)
    except UrlRefused as exc:
        raise ValidationFailed(fields={"url": [str(exc)]}) from exc
    secret = secrets.token_urlsafe(32)
    hook = WebhookEndpoint.objects.create(
        estate=estate, name=name, url=url, secret=secret, min_severity=min_severity
    )
    audit.record(Action.CREATE, actor=actor, obj=hook, detail={"host": url.split("/")[2][:100]})
    return hook, secret


@transaction.atomic
def webhook_delete(*, actor: Actor, hook: WebhookEndpoint) -> None:
    require_estate(actor=actor, estate=hook.estate, perm=Perm.ALARMS_RULES, write=True)
    audit.record(Action.DELETE, actor=actor, obj=hook)
    hook.delete()
