"""Anomaly rules of entry and exit (issue #5 item 6), run after each stored access event, on device
alarms, and periodically for elderly residents living alone.

* **rapid reuse** — the same credential (or visitor pass) allowed at two *different* estate-gate-level
  points (estate gates, pedestrian gates, garage barriers: no building) within
  ``rapid_reuse_seconds``: one person cannot be at both, so the code or card is shared or copied;
* **repeated denials** — ``denial_threshold`` refusals of the same credential, or at the same access
  point, within ``denial_window_minutes`` (someone trying codes or cards);
* **device alarms** — tailgating, forced door, reverse passage, climbing over a gate, and *duress*
  (a duress card or code: the highest priority, and silent — nothing is shown at the door, only the
  guards on duty and the property admin are told);
* **not seen** — an elderly resident living alone (``CareTag`` 独居老人) who lives in the estate and
  has not passed any access point (any result) for ``not_seen_hours`` — counted only once both the
  person's record and the estate's access control have existed that long — gets a care alert to the
  estate's community workers only (R65: health data, ``health_sensitive``), closed by itself when
  they are seen again.

Each anomaly has a ``dedup_key``: while one with the same key is open, the rule updates it (count,
last time) instead of adding a row, and nobody is notified again (except duress: every report
counts). Security anomalies notify the estate's guards and property admins (console inbox).

Cost per event: at most two indexed queries on ``(credential, occurred_at)`` /
``(access_point, occurred_at)`` plus the settings row, and one lookup of an open care anomaly when
the event names a person.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, Min, OuterRef, QuerySet, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.access.models import (
    AccessAnomaly,
    AccessEvent,
    AccessPoint,
    AccessPointKind,
    AccessResult,
    AccessSettings,
    AnomalyKind,
)
from linli.core import audit
from linli.core.audit import Action
from linli.orgs.roles import Role
from linli.orgs.selectors import staff_over
from linli.places.models import Region

log = logging.getLogger("linli.access.anomalies")

GATE_KINDS = (AccessPointKind.ESTATE_GATE, AccessPointKind.PEDESTRIAN_GATE, AccessPointKind.GARAGE_BARRIER)
SECURITY_ROLES = (Role.GUARD, Role.PROPERTY_ADMIN)
CARE_ROLES = (Role.COMMUNITY_WORKER,)

# Vendor alarm (``VendorAccessEvent.alarm``) → anomaly kind. Other alarms (tamper, fire button…) are
# device health, handled by the devices and alarms apps.
DEVICE_ALARMS: dict[str, str] = {
    "tailgating": AnomalyKind.TAILGATING,
    "forced": AnomalyKind.FORCED,
    "reverse": AnomalyKind.REVERSE,
    "climbing": AnomalyKind.CLIMBING,
    "duress": AnomalyKind.DURESS,
}
ALARM_LABELS = {
    "tailgating": gettext_lazy("尾随通行"),
    "forced": gettext_lazy("强行开门"),
    "reverse": gettext_lazy("逆向闯入"),
    "climbing": gettext_lazy("翻越闸机"),
    "duress": gettext_lazy("胁迫报警"),
}
DURESS = "duress"


def alarm_label(alarm: str) -> str:
    return str(ALARM_LABELS.get(alarm, alarm))


# --- recipients and notifications ---------------------------------------------------------------


def _link(row: AccessAnomaly) -> str:
    try:
        return reverse("access:anomalies") + f"?status=open#a{row.pk}"
    except NoReverseMatch:
        return ""


def _notify(row: AccessAnomaly, estate: Region, *, roles, title: str, body: str, kind: str) -> int:
    from linli.messaging.services import message_send

    sent = message_send(
        recipients=staff_over(estate, roles=roles),
        title=title,
        body=body,
        link=_link(row),
        estate=estate,
        category=kind,
    )
    return len(sent)


# --- raising ------------------------------------------------------------------------------------


_settings_cache: dict[int, tuple[float, AccessSettings]] = {}
SETTINGS_TTL = 30.0


def _settings(estate_id: int) -> AccessSettings:
    """The estate's settings (defaults without writing a row), cached per process for SETTINGS_TTL s:
    the per-event rules run on every decision."""
    now = time.monotonic()
    hit = _settings_cache.get(estate_id)
    if hit is not None and now - hit[0] < SETTINGS_TTL:
        return hit[1]
    row = AccessSettings.objects.filter(estate_id=estate_id).first() or AccessSettings(estate_id=estate_id)
    _settings_cache[estate_id] = (now, row)
    return row


def reset_settings_cache(*args, **kwargs) -> None:
    _settings_cache.clear()
    _not_seen_open.clear()


def _raise(
    *,
    estate: Region,
    path: str,
    kind: str,
    dedup_key: str,
    at: datetime,
    first_at: datetime | None = None,
    count: int = 1,
    person_id: int | None = None,
    credential_id: int | None = None,
    access_point_id: int | None = None,
    detail: dict | None = None,
    health_sensitive: bool = False,
) -> tuple[AccessAnomaly, bool]:
    """Open an anomaly, or update the open one with the same key. Returns (row, created)."""

    def bump(row: AccessAnomaly) -> AccessAnomaly:
        row.count += 1
        row.last_at = max(row.last_at, at)
        row.first_at = min(row.first_at, first_at or at)
        row.detail = {**row.detail, **(detail or {})}
        row.save(update_fields=["count", "last_at", "first_at", "detail", "updated_at"])
        return row

    open_row = (
        AccessAnomaly.objects.select_for_update()
        .filter(dedup_key=dedup_key, status=AccessAnomaly.Status.OPEN)
        .first()
    )
    if open_row is not None:
        return bump(open_row), False
    try:
        with transaction.atomic():
            row = AccessAnomaly.objects.create(
                estate=estate,
                path=path,
                kind=kind,
                person_id=person_id,
                credential_id=credential_id,
                access_point_id=access_point_id,
                first_at=first_at or at,
                last_at=at,
                count=count,
                detail=detail or {},
                health_sensitive=health_sensitive,
                dedup_key=dedup_key,
            )
    except IntegrityError:  # opened concurrently by another event: update that one
        other = AccessAnomaly.objects.select_for_update().get(
            dedup_key=dedup_key, status=AccessAnomaly.Status.OPEN
        )
        return bump(other), False
    return row, True


def _estate(estate_id: int) -> Region:
    return Region.objects.only("pk", "path", "name").get(pk=estate_id)


# --- per event ----------------------------------------------------------------------------------


def check_event(event: AccessEvent) -> list[AccessAnomaly]:
    """Run the per-event rules on a stored access event; returns the anomalies opened or updated.

    Called by the decision service and the vendor-event ingest after each stored event. A failure
    here is logged and never fails the decision (it runs in its own savepoint)."""
    try:
        with transaction.atomic():
            return _check(event)
    except Exception:
        log.exception("anomaly rules failed for access event %s", getattr(event, "pk", None))
        return []


_not_seen_open: dict[int, tuple[float, frozenset[int]]] = {}
NOT_SEEN_TTL = 30.0


def _has_open_not_seen(estate_id: int, person_id: int) -> bool:
    """Whether the person may have an open not-seen alert: the estate's set of such persons is read
    once per NOT_SEEN_TTL seconds (alerts are opened by the periodic scan, which also closes the
    alerts of persons seen since), so most decisions skip the lookup."""
    now = time.monotonic()
    hit = _not_seen_open.get(estate_id)
    if hit is None or now - hit[0] >= NOT_SEEN_TTL:
        ids = frozenset(
            AccessAnomaly.objects.filter(
                estate_id=estate_id, kind=AnomalyKind.NOT_SEEN, status=AccessAnomaly.Status.OPEN
            ).values_list("person_id", flat=True)
        )
        hit = (now, ids)
        _not_seen_open[estate_id] = hit
    return person_id in hit[1]


def reset_not_seen_cache() -> None:
    _not_seen_open.clear()


def _check(event: AccessEvent) -> list[AccessAnomaly]:
    if event.person_id and _has_open_not_seen(event.estate_id, event.person_id):
        close_not_seen(person_id=event.person_id, seen_at=event.occurred_at)
    if event.result == AccessResult.ALLOW:
        return _rapid_reuse(event)
    return _repeated_denials(event)


def _subject(event: AccessEvent) -> tuple[str, str, int] | None:
    """(filter field, dedup label, id) of the credential the event was decided on."""
    if event.credential_id:
        return "credential_id", "credential", event.credential_id
    if event.visitor_pass_id:
        return "visitor_pass_id", "pass", event.visitor_pass_id
    return None


def _is_gate(point: AccessPoint | None) -> bool:
    return point is not None and point.building_id is None and point.kind in GATE_KINDS


def _rapid_reuse(event: AccessEvent) -> list[AccessAnomaly]:
    point = event.access_point
    subject = _subject(event)
    if subject is None or not _is_gate(point):
        return []
    field, label, subject_id = subject
    conf = _settings(event.estate_id)
    window = timedelta(seconds=conf.rapid_reuse_seconds)
    other = (
        AccessEvent.objects.filter(
            **{field: subject_id},
            result=AccessResult.ALLOW,
            occurred_at__gte=event.occurred_at - window,
            occurred_at__lte=event.occurred_at + window,
            access_point__building__isnull=True,
            access_point__kind__in=GATE_KINDS,
        )
        .exclude(access_point_id=point.pk)
        .exclude(pk=event.pk)
        .order_by("-occurred_at")
        .values("pk", "access_point_id", "access_point__name", "occurred_at")
        .first()
    )
    if other is None:
        return []
    seconds = int(abs((event.occurred_at - other["occurred_at"]).total_seconds()))
    estate = _estate(event.estate_id)
    row, created = _raise(
        estate=estate,
        path=estate.path,
        kind=AnomalyKind.RAPID_REUSE,
        dedup_key=f"rapid_reuse:{label}:{subject_id}",
        at=max(event.occurred_at, other["occurred_at"]),
        first_at=min(event.occurred_at, other["occurred_at"]),
        count=2,
        person_id=event.person_id,
        credential_id=event.credential_id,
        access_point_id=point.pk,
        detail={
            "points": sorted({point.pk, other["access_point_id"]}),
            "point_names": [other["access_point__name"], point.name],
            "seconds": seconds,
            "events": [other["pk"], event.pk],
            **({"visitor_pass": event.visitor_pass_id} if event.visitor_pass_id else {}),
        },
    )
    if created:
        _notify(
            row,
            estate,
            roles=SECURITY_ROLES,
            title=_("出入异常：同一凭证短时间内在两个大门使用"),
            body=_("同一凭证 %(s)s 秒内先后在「%(a)s」和「%(b)s」通行，可能被转借或复制，请核查。")
            % {"s": seconds, "a": other["access_point__name"], "b": point.name},
            kind="access_anomaly",
        )
    return [row]


def _repeated_denials(event: AccessEvent) -> list[AccessAnomaly]:
    conf = _settings(event.estate_id)
    since = event.occurred_at - timedelta(minutes=conf.denial_window_minutes)
    denied = AccessEvent.objects.filter(
        result=AccessResult.DENY, occurred_at__gt=since, occurred_at__lte=event.occurred_at
    )
    checks: list[tuple[str, int, QuerySet]] = []
    subject = _subject(event)
    if subject is not None:
        field, label, subject_id = subject
        checks.append((label, subject_id, denied.filter(**{field: subject_id})))
    if event.access_point_id:
        checks.append(("point", event.access_point_id, denied.filter(access_point_id=event.access_point_id)))
    out: list[AccessAnomaly] = []
    estate = None
    point = event.access_point if event.access_point_id else None
    for label, ref, qs in checks:
        key = f"repeated_denials:{label}:{ref}"
        already = AccessAnomaly.objects.filter(dedup_key=key, status=AccessAnomaly.Status.OPEN).exists()
        n, first = 1, event.occurred_at
        if not already:
            times = list(qs.order_by("occurred_at").values_list("occurred_at", flat=True)[:1000])
            if len(times) < conf.denial_threshold:
                continue
            n, first = len(times), times[0]
        estate = estate or _estate(event.estate_id)
        row, created = _raise(
            estate=estate,
            path=(point.path if point is not None else "") or estate.path,
            kind=AnomalyKind.REPEATED_DENIALS,
            dedup_key=key,
            at=event.occurred_at,
            first_at=first,
            count=n,
            person_id=event.person_id if label != "point" else None,
            credential_id=event.credential_id if label != "point" else None,
            access_point_id=event.access_point_id,
            detail={
                "scope": "point" if label == "point" else "credential",
                "window_minutes": conf.denial_window_minutes,
                "last_reason": event.reason,
                **({"visitor_pass": event.visitor_pass_id} if label == "pass" else {}),
            },
        )
        if created:
            where = point.name if point is not None else ""
            body = (
                _("「%(p)s」%(m)s 分钟内被拒 %(n)s 次，可能有人反复尝试，请核查。")
                if label == "point"
                else _("同一凭证 %(m)s 分钟内被拒 %(n)s 次（最近一次在「%(p)s」），请核查。")
            )
            _notify(
                row,
                estate,
                roles=SECURITY_ROLES,
                title=_("出入异常：多次被拒"),
                body=body % {"m": conf.denial_window_minutes, "n": n, "p": where},
                kind="access_anomaly",
            )
        out.append(row)
    return out


# --- device alarms ------------------------------------------------------------------------------


def report_device_alarm(
    *, event: AccessEvent | None, access_point: AccessPoint | None, alarm: str, occurred_at: datetime
) -> AccessAnomaly | None:
    """An alarm reported by a door device (tailgating, forced, reverse, climbing, duress) → an anomaly
    and a notice to the guards and the property admin. Duress is silent and the most urgent: it is
    announced to them every time, never at the door. Returns None for alarms that are not anomalies
    or that cannot be placed in an estate."""
    kind = DEVICE_ALARMS.get(alarm)
    if kind is None:
        return None
    estate_id = access_point.estate_id if access_point is not None else getattr(event, "estate_id", None)
    if estate_id is None:
        log.warning("device alarm %s without access point or event: ignored", alarm)
        return None
    if access_point is not None:
        where_key = f"point:{access_point.pk}"
    elif event is not None and event.device_id:
        where_key = f"device:{event.device_id}"
    else:
        where_key = f"estate:{estate_id}"
    with transaction.atomic():
        estate = _estate(estate_id)
        row, created = _raise(
            estate=estate,
            path=(access_point.path if access_point is not None else "") or estate.path,
            kind=kind,
            dedup_key=f"{alarm}:{where_key}",
            at=occurred_at,
            person_id=getattr(event, "person_id", None),
            credential_id=getattr(event, "credential_id", None),
            access_point_id=access_point.pk if access_point is not None else None,
            detail={
                "alarm": alarm,
                "priority": "critical" if alarm == DURESS else "major",
                **({"event": event.pk} if event is not None and event.pk else {}),
            },
        )
        where = access_point.name if access_point is not None else _("未登记的门")
        if alarm == DURESS:
            _notify(
                row,
                estate,
                roles=SECURITY_ROLES,
                title=_("【紧急】胁迫报警：%(p)s") % {"p": where},
                body=_("「%(p)s」于 %(t)s 收到胁迫报警（静默）。请立即核实，勿在现场声张。")
                % {"p": where, "t": timezone.localtime(occurred_at).strftime("%H:%M:%S")},
                kind="access_duress",
            )
        elif created:
            _notify(
                row,
                estate,
                roles=SECURITY_ROLES,
                title=_("出入异常：%(a)s") % {"a": alarm_label(alarm)},
                body=_("「%(p)s」于 %(t)s 报告%(a)s，请到场核查。")
                % {
                    "p": where,
                    "t": timezone.localtime(occurred_at).strftime("%m-%d %H:%M"),
                    "a": alarm_label(alarm),
                },
                kind="access_anomaly",
            )
    return row


# --- elderly living alone not seen --------------------------------------------------------------


def _not_seen_key(person_id: int) -> str:
    return f"not_seen:person:{person_id}"


def _close(row: AccessAnomaly, *, note: str, at: datetime, reason: str) -> None:
    row.status = AccessAnomaly.Status.CLOSED
    row.note = note[:300]
    row.handled_at = at
    row.save(update_fields=["status", "note", "handled_at", "updated_at"])
    audit.record(
        Action.UPDATE,
        obj=row,
        actor_label="system",
        subject_person_id=row.person_id,
        reason=reason,
        detail={"status": "closed", "kind": row.kind},
    )


def close_not_seen(*, person_id: int, seen_at: datetime) -> bool:
    """The person passed an access point: close their open not-seen alert (if the event is newer than
    the last time they had been seen) and tell the community workers. Returns whether one closed."""
    row = (
        AccessAnomaly.objects.select_for_update()
        .filter(dedup_key=_not_seen_key(person_id), status=AccessAnomaly.Status.OPEN)
        .first()
    )
    if row is None:
        return False
    last = parse_datetime(row.detail.get("last_seen_at") or "") if row.detail.get("last_seen_at") else None
    if last is not None and seen_at <= last:
        return False
    _close(row, note=_("已在出入口再次出现，自动关闭"), at=seen_at, reason="seen_again")
    estate = _estate(row.estate_id)
    _notify(
        row,
        estate,
        roles=CARE_ROLES,
        title=_("独居老人已恢复出入"),
        body=_("%(home)s 的独居老人于 %(t)s 出入，未出入提醒已自动关闭。")
        % {"home": row.detail.get("home", ""), "t": timezone.localtime(seen_at).strftime("%m-%d %H:%M")},
        kind="access_care",
    )
    return True


def not_seen_candidates(now: datetime):
    """Persons tagged 独居老人 (open tag) with a current home, in estates that have active access
    points, with the last time they were seen at any access point."""
    from linli.people.models import CareKind, CareTag, Occupancy, Person

    today = timezone.localdate(now)
    tagged = CareTag.objects.filter(
        person=OuterRef("pk"), kind=CareKind.ELDERLY_ALONE, end_date__isnull=True, start_date__lte=today
    )
    living = Occupancy.objects.filter(person=OuterRef("pk"), end_date__isnull=True)
    last_seen = (
        AccessEvent.objects.filter(person=OuterRef("pk")).order_by("-occurred_at").values("occurred_at")[:1]
    )
    estates = AccessPoint.objects.filter(status=AccessPoint.Status.ACTIVE).values("estate_id")
    return (
        Person.objects.filter(Exists(tagged), Exists(living), estate_id__in=estates)
        .annotate(last_seen=Subquery(last_seen))
        .values("pk", "estate_id", "created_at", "last_seen")
        .order_by("pk")
    )


def not_seen_scan(now: datetime | None = None) -> dict[str, int]:
    """Open a care alert for every elderly resident living alone not seen at any access point for the
    estate's ``not_seen_hours`` (and registered longer than that), notify the estate's community
    workers, and close the alerts of those who no longer qualify. Idempotent."""
    from linli.access.insights.selectors import person_home_labels

    now = now or timezone.now()
    hours_by_estate = dict(AccessSettings.objects.values_list("estate_id", "not_seen_hours"))
    default_hours = AccessSettings._meta.get_field("not_seen_hours").default
    installed = dict(
        AccessPoint.objects.filter(status=AccessPoint.Status.ACTIVE)
        .values("estate_id")
        .annotate(first=Min("created_at"))
        .values_list("estate_id", "first")
    )
    missing: dict[int, dict] = {}
    for row in not_seen_candidates(now):
        hours = hours_by_estate.get(row["estate_id"], default_hours)
        cutoff = now - timedelta(hours=hours)
        if row["created_at"] > cutoff or installed.get(row["estate_id"], now) > cutoff:
            continue  # registered, or access control installed, too recently to tell
        if row["last_seen"] is not None and row["last_seen"] >= cutoff:
            continue
        missing[row["pk"]] = {**row, "hours": hours}
    open_rows = {
        r.person_id: r
        for r in AccessAnomaly.objects.filter(kind=AnomalyKind.NOT_SEEN, status=AccessAnomaly.Status.OPEN)
    }
    opened = closed = 0
    homes = person_home_labels([pid for pid in missing if pid not in open_rows])
    estates: dict[int, Region] = {}
    for pid, row in missing.items():
        if pid in open_rows:
            continue
        estate = estates.get(row["estate_id"]) or _estate(row["estate_id"])
        estates[estate.pk] = estate
        home = homes.get(pid, "")
        with transaction.atomic():
            anomaly, created = _raise(
                estate=estate,
                path=estate.path,
                kind=AnomalyKind.NOT_SEEN,
                dedup_key=_not_seen_key(pid),
                at=now,
                person_id=pid,
                detail={
                    "hours": row["hours"],
                    "last_seen_at": row["last_seen"].isoformat() if row["last_seen"] else None,
                    "home": home,
                },
                health_sensitive=True,
            )
            if created:
                opened += 1
                _notify(
                    anomaly,
                    estate,
                    roles=CARE_ROLES,
                    title=_("关爱提醒：独居老人长时间未出入"),
                    body=_("%(home)s 的独居老人已超过 %(h)s 小时未在任何出入口出现，请尽快联系或上门探视。")
                    % {"home": home or estate.name, "h": row["hours"]},
                    kind="access_care",
                )
    for pid, anomaly in open_rows.items():
        if pid in missing:
            continue
        with transaction.atomic():
            _close(
                anomaly,
                note=_("已不再符合提醒条件（已出入、已迁出或标签已结束），自动关闭"),
                at=now,
                reason="no_longer_applies",
            )
        closed += 1
    _not_seen_open.clear()  # this process opened or closed alerts: read them afresh
    return {"opened": opened, "closed": closed}
