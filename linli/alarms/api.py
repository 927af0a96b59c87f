"""Alarms API: list and detail (with history and notifications), acknowledge, clear, comment, assign,
the live feed, statistics, the fire-safety overview, rules (profile level and per-device overrides) and
webhook targets. Health-sensitive alarms (R65) exist only for users with ``alarms.health_view``."""

from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from linli.alarms import selectors, services
from linli.alarms.schemas import (
    AlarmAssignIn,
    AlarmCommentIn,
    AlarmDetailOut,
    AlarmFilters,
    AlarmNoteIn,
    AlarmOut,
    AlarmStatsOut,
    CommentOut,
    FireCardOut,
    Id,
    LiveOut,
    RuleFields,
    RuleIn,
    RuleOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
)
from linli.core.api import ERRORS, WRITE_ERRORS, MappedPage, PkPath, QueryDateTime, actor_of
from linli.places.selectors import estate_get

router = Router()


def _user(u):
    return None if u is None else {"id": u.pk, "username": u.username, "display_name": u.display_name}


def alarm_out(a) -> dict:
    return {
        "id": a.pk,
        "estate_id": a.estate_id,
        "estate": a.estate.name,
        "building_id": a.building_id,
        "device_id": a.device_id,
        "device_key": a.device.key,
        "device_name": a.device.name,
        "cause": a.cause,
        "severity": a.severity,
        "title": a.title,
        "first_at": a.first_at,
        "last_at": a.last_at,
        "count": a.count,
        "is_open": a.is_open,
        "needs_ack": a.needs_ack,
        "acked_at": a.acked_at,
        "cleared_at": a.cleared_at,
        "clear_reason": a.clear_reason,
        "assignee": _user(a.assignee),
        "health_sensitive": a.health_sensitive,
        "workorder_id": a.workorder_id,
        "escalated_at": a.escalated_at,
    }


def detail_out(a) -> dict:
    return {
        **alarm_out(a),
        "detail": a.detail,
        "rule_id": a.rule_id,
        "device_location": a.device.location,
        "acked_by": a.acked_by.username if a.acked_by else None,
        "cleared_by": a.cleared_by.username if a.cleared_by else None,
        "history": [
            {"at": h.at, "kind": h.kind, "actor": h.actor.username if h.actor else None, "note": h.note}
            for h in selectors.alarm_history(alarm=a)
        ],
        "comments": [comment_out(c) for c in selectors.alarm_comments(alarm=a)],
        "notifications": list(
            selectors.alarm_notifications(alarm=a).values(
                "channel", "target", "level", "status", "error", "sent_at"
            )
        ),
    }


def comment_out(c) -> dict:
    return {
        "id": c.pk,
        "author": c.author.username if c.author else None,
        "body": c.body,
        "created_at": c.created_at,
    }


def rule_out(r) -> dict:
    return {
        **{k: getattr(r, k) for k in services.RULE_FIELDS},
        "id": r.pk,
        "profile_id": r.profile_id,
        "profile_key": r.profile.key,
        "device_id": r.device_id,
        "base_id": r.base_id,
    }


@router.get("", response={200: list[AlarmOut], **ERRORS}, summary="告警列表")
@paginate(MappedPage.of(alarm_out))
def alarm_list(request, filters: Query[AlarmFilters]):
    return selectors.alarm_list(actor=actor_of(request), **filters.selector_args())


class LiveFilters(Schema):
    after: int = Field(0, ge=0, le=2**63 - 1)
    estate: Id | None = None


@router.get("/live", response={200: LiveOut, **ERRORS}, summary="实时告警（游标之后的未消除告警）")
def alarm_live(request, filters: Query[LiveFilters]):
    items = selectors.alarm_live(actor=actor_of(request), after=filters.after, estate_id=filters.estate)
    cursor = max([filters.after, *(a.pk for a in items)])
    return {"cursor": cursor, "items": [alarm_out(a) for a in items]}


class AlarmStatsFilters(Schema):
    since: QueryDateTime | None = None
    until: QueryDateTime | None = None
    estate: Id | None = None


@router.get("/stats", response={200: AlarmStatsOut, **ERRORS}, summary="告警统计")
def alarm_stats(request, filters: Query[AlarmStatsFilters]):
    return selectors.alarm_stats(
        actor=actor_of(request), since=filters.since, until=filters.until, estate_id=filters.estate
    )


class EstateFilter(Schema):
    estate: Id | None = None


@router.get("/fire-overview", response={200: list[FireCardOut], **ERRORS}, summary="消防安全概览")
def fire_overview(request, filters: Query[EstateFilter]):
    return selectors.fire_overview(actor=actor_of(request), estate_id=filters.estate)


# --- rules -----------------------------------------------------------------------------------------


class RuleFilters(Schema):
    profile: Id | None = None
    device: Id | None = None


@router.get("/rules", response={200: list[RuleOut], **ERRORS}, summary="告警规则列表")
@paginate(MappedPage.of(rule_out))
def rule_list(request, filters: Query[RuleFilters]):
    return selectors.rule_list(actor=actor_of(request), profile_id=filters.profile, device_id=filters.device)


def _fields(body: RuleFields) -> dict:
    data = body.dict(exclude_unset=True, exclude={"profile_id", "device_id", "base_id"})
    if "schedule" in data and data["schedule"] is None:
        data["schedule"] = {}
    return data


@router.post("/rules", response={201: RuleOut, **WRITE_ERRORS}, summary="新建规则或设备覆盖规则")
def rule_create(request, body: RuleIn):
    actor = actor_of(request)
    device = selectors.device_in_scope(actor=actor, pk=body.device_id) if body.device_id else None
    profile = selectors.profile_get(pk=body.profile_id)
    base = selectors.rule_get(actor=actor, pk=body.base_id) if body.base_id else None
    rule = services.rule_create(actor=actor, profile=profile, device=device, base=base, **_fields(body))
    return Status(201, rule_out(rule))


@router.get("/rules/{pk}", response={200: RuleOut, **ERRORS}, summary="告警规则详情")
def rule_get(request, pk: PkPath):
    return rule_out(selectors.rule_get(actor=actor_of(request), pk=pk))


@router.patch("/rules/{pk}", response={200: RuleOut, **WRITE_ERRORS}, summary="修改告警规则")
def rule_update(request, pk: PkPath, body: RuleFields):
    actor = actor_of(request)
    rule = services.rule_update(actor=actor, rule=selectors.rule_get(actor=actor, pk=pk), **_fields(body))
    return rule_out(rule)


@router.delete("/rules/{pk}", response={204: None, **WRITE_ERRORS}, summary="删除告警规则")
def rule_delete(request, pk: PkPath):
    actor = actor_of(request)
    services.rule_delete(actor=actor, rule=selectors.rule_get(actor=actor, pk=pk))
    return Status(204, None)


# --- webhooks ----------------------------------------------------------------------------------------


def hook_out(h) -> dict:
    return {
        "id": h.pk,
        "estate_id": h.estate_id,
        "name": h.name,
        "url": h.url,
        "enabled": h.enabled,
        "min_severity": h.min_severity,
    }


@router.get("/webhooks", response={200: list[WebhookOut], **ERRORS}, summary="告警推送地址")
@paginate(MappedPage.of(hook_out))
def webhook_list(request, filters: Query[EstateFilter]):
    return selectors.webhook_list(actor=actor_of(request), estate_id=filters.estate)


@router.post(
    "/webhooks",
    response={201: WebhookCreatedOut, **WRITE_ERRORS},
    summary="登记告警推送地址（拒绝内网、本机、链路本地地址；密钥只显示一次）",
)
def webhook_create(request, body: WebhookIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    hook, secret = services.webhook_create(
        actor=actor, estate=estate, name=body.name, url=body.url, min_severity=body.min_severity
    )
    return Status(201, {**hook_out(hook), "secret": secret})


@router.delete("/webhooks/{pk}", response={204: None, **WRITE_ERRORS}, summary="删除告警推送地址")
def webhook_delete(request, pk: PkPath):
    actor = actor_of(request)
    services.webhook_delete(actor=actor, hook=selectors.webhook_get(actor=actor, pk=pk))
    return Status(204, None)


# --- one alarm -----------------------------------------------------------------------------------------


@router.get("/{pk}", response={200: AlarmDetailOut, **ERRORS}, summary="告警详情（含处置记录与通知）")
def alarm_get(request, pk: PkPath):
    return detail_out(selectors.alarm_get(actor=actor_of(request), pk=pk))


@router.post("/{pk}/ack", response={200: AlarmDetailOut, **WRITE_ERRORS}, summary="确认告警（不消除）")
def alarm_ack(request, pk: PkPath, body: AlarmNoteIn):
    actor = actor_of(request)
    services.alarm_ack(actor=actor, alarm=selectors.alarm_get(actor=actor, pk=pk), note=body.note)
    return detail_out(selectors.alarm_get(actor=actor, pk=pk))


@router.post("/{pk}/clear", response={200: AlarmDetailOut, **WRITE_ERRORS}, summary="消除告警（不确认）")
def alarm_clear(request, pk: PkPath, body: AlarmNoteIn):
    actor = actor_of(request)
    services.alarm_clear(actor=actor, alarm=selectors.alarm_get(actor=actor, pk=pk), note=body.note)
    return detail_out(selectors.alarm_get(actor=actor, pk=pk))


@router.post("/{pk}/comments", response={201: CommentOut, **WRITE_ERRORS}, summary="添加处置备注")
def alarm_comment(request, pk: PkPath, body: AlarmCommentIn):
    actor = actor_of(request)
    c = services.alarm_comment(actor=actor, alarm=selectors.alarm_get(actor=actor, pk=pk), body=body.body)
    return Status(201, comment_out(c))


@router.post("/{pk}/assign", response={200: AlarmDetailOut, **WRITE_ERRORS}, summary="指派处置人")
def alarm_assign(request, pk: PkPath, body: AlarmAssignIn):
    actor = actor_of(request)
    services.alarm_assign(
        actor=actor, alarm=selectors.alarm_get(actor=actor, pk=pk), assignee_id=body.assignee_id
    )
    return detail_out(selectors.alarm_get(actor=actor, pk=pk))
