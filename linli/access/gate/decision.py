"""The access decision: a credential presented at an access point → allow or deny with a reason, and
every decision stored as an ``AccessEvent`` (issue #5 item 4).

Order of checks (the first failing one is the reason):

1. the point: disabled → ``point_disabled``; method not in its ``allowed_methods`` → ``method_not_allowed``;
2. the credential itself:
   * QR: well-formed (``malformed``) → its key is an active (or recently retired) key of *this*
     estate (``unknown_key``) → signature (``forged``) → time window with the standard skew
     (``expired`` / ``not_yet_valid``) → the subject: a resident's 一码通 credential token or a visitor
     pass token (``unknown_credential``);
   * card: 4–20 hex digits (``malformed``), looked up by blind index in the estate;
   * PIN: 6 digits (``malformed``), looked up by the blind index of ``"<estate id>:<pin>"``;
3. the subject: suspended / revoked credential or pass (``revoked``), outside the credential's or
   pass's validity (``outside_window``), a pass whose entries are used (``used_up``, entries only),
   a person who is neither a current resident nor staff of the estate (``moved_out``);
4. replay (QR only): the code's nonce is recorded once per access point (``CodeUse``, unique); a
   second presentation at the same point is ``replayed``;
5. policies (``access.points.policy``): residents with the buildings of their current occupancies, staff
   with their roles, visitors at estate-wide points and their host's building under the visitor (or,
   for delivery and service passes, service) policies → ``not_allowed``;
6. an allowed visitor *entry* consumes one of the pass's entries atomically (``used_up`` when a
   concurrent entry took the last one).

The hot path (a QR code at a gate) reads the credential with its holder's occupancies, then the
policies (two small queries; public keys are cached per process), then writes the nonce (one
``INSERT … ON CONFLICT DO NOTHING``), the event and, for a visitor, the entry count in one short
transaction. Anomaly rules (``access.insights.anomalies.check_event``)
run after the event is stored; a failure there is logged and never changes the gate's answer.
"""

from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from linli.access.credentials import keys, qr
from linli.access.credentials import services as credentials
from linli.access.models import (
    AccessEvent,
    AccessPoint,
    AccessPolicy,
    AccessResult,
    Audience,
    CodeUse,
    Credential,
    CredentialKind,
    CredentialStatus,
    Direction,
    EventSource,
    Method,
    SubjectKind,
    VisitorKind,
    VisitorPass,
    VisitorPassStatus,
)
from linli.access.points import policy
from linli.access.visitors.services import consume_entry

log = logging.getLogger("linli.access")

ALLOW, DENY = AccessResult.ALLOW, AccessResult.DENY
OK = "ok"
REASONS = (
    "ok",
    "malformed",
    "unknown_key",
    "forged",
    "expired",
    "not_yet_valid",
    "replayed",
    "revoked",
    "unknown_credential",
    "not_allowed",
    "outside_window",
    "used_up",
    "method_not_allowed",
    "point_disabled",
    "blocked",
    "moved_out",
)
DECIDABLE = frozenset({Method.QR, Method.CARD, Method.PIN})
MAX_CREDENTIAL_LEN = 200
# A device's clock may run ahead; offline events further in the future than this are refused.
FUTURE_TOLERANCE = timedelta(seconds=300)


@dataclass(frozen=True, slots=True)
class Decision:
    result: str
    reason: str
    subject_kind: str = SubjectKind.UNKNOWN
    person_id: int | None = None
    visitor_pass_id: int | None = None
    credential_id: int | None = None
    event_id: int | None = None

    @property
    def allowed(self) -> bool:
        return self.result == ALLOW


@dataclass(slots=True)
class _Eval:
    """What the read-only checks found; ``reason`` empty means "passed so far"."""

    reason: str = ""
    subject_kind: str = SubjectKind.UNKNOWN
    person_id: int | None = None
    user_id: int | None = None
    credential_id: int | None = None
    visitor_pass_id: int | None = None
    visitor_kind: str = ""
    host_building_id: int | None = None
    building_ids: tuple[int, ...] = ()
    roles: frozenset[str] = frozenset()
    nonce: str = ""
    replay_check: bool = False
    detail: dict = field(default_factory=dict)

    def deny(self, reason: str) -> _Eval:
        self.reason = reason
        return self


# --- caches ----------------------------------------------------------------------------------------

_KEY_TTL = 60.0
_keys: dict[str, tuple[float, int, object]] = {}
_hook: list = []  # [check_event or None] once resolved


def reset_caches() -> None:
    """Forget cached public keys and the anomaly hook (tests; key rotation needs no reset)."""
    _keys.clear()
    _hook.clear()


def _public_key(kid: str):
    """(estate id, public key) of a kid, cached for a minute: keys never change, and a retired key
    stays valid for a day anyway."""
    now = time.monotonic()
    hit = _keys.get(kid)
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    found = keys.public_key_for(kid)
    if found is None:
        _keys.pop(kid, None)
        return None
    if len(_keys) > 4096:
        _keys.clear()
    _keys[kid] = (now + _KEY_TTL, found[0], found[1])
    return found


def _anomaly_hook():
    if not _hook:
        try:
            module = importlib.import_module("linli.access.insights.anomalies")
        except ModuleNotFoundError as exc:
            if exc.name != "linli.access.insights.anomalies":
                raise
            module = None
        _hook.append(getattr(module, "check_event", None))
    return _hook[0]


def run_anomaly_rules(events) -> None:
    hook = _anomaly_hook()
    if hook is None:
        return
    for event in events:
        try:
            hook(event)
        except Exception:  # the door has its answer; an anomaly rule must never take it back
            log.exception("access anomaly rules failed for event %s", event.pk)


# --- helpers ---------------------------------------------------------------------------------------


def effective_direction(access_point: AccessPoint, direction: str | None) -> str:
    """A one-way point decides the direction; a two-way point takes the device's word (default in)."""
    if access_point.direction in (Direction.IN, Direction.OUT):
        return access_point.direction
    return direction if direction in (Direction.IN, Direction.OUT) else Direction.IN


def _estate_path(access_point: AccessPoint) -> str:
    estate = access_point._state.fields_cache.get("estate")
    if estate is not None:
        return estate.path
    # Paths are materialised ids ("/1/4/9/12/"): the estate's path is the prefix ending in its id.
    marker = f"/{access_point.estate_id}/"
    at = access_point.path.find(marker)
    if at >= 0:
        return access_point.path[: at + len(marker)]
    return access_point.estate.path


# One query finds the credential, its holder's account and the holder's occupancies (one row per
# occupancy: a LEFT JOIN), so a resident's buildings cost nothing extra.
_OCC = "person__occupancies__"
_CREDENTIAL_FIELDS = (
    "pk",
    "estate_id",
    "person_id",
    "person__user_id",
    "status",
    "valid_from",
    "valid_until",
    f"{_OCC}room__building_id",
    f"{_OCC}estate_id",
    f"{_OCC}end_date",
)


def _credential_rows(**lookup) -> list[dict]:
    return list(Credential.objects.filter(**lookup).order_by("pk").values(*_CREDENTIAL_FIELDS)[:50])


def _pick(rows: list[dict]) -> tuple[dict | None, list[dict]]:
    """The credential to judge (an active one first) and its occupancy rows."""
    if not rows:
        return None, []
    chosen = next((r for r in rows if r["status"] == CredentialStatus.ACTIVE), rows[0])
    return chosen, [r for r in rows if r["pk"] == chosen["pk"]]


def _credential_subject(
    ev: _Eval, row: dict | None, occupancies: list[dict], access_point: AccessPoint, at: datetime
) -> _Eval:
    if row is None or row["estate_id"] != access_point.estate_id:
        return ev.deny("unknown_credential")
    ev.credential_id, ev.person_id, ev.user_id = row["pk"], row["person_id"], row["person__user_id"]
    if row["status"] != CredentialStatus.ACTIVE:
        return ev.deny("revoked")
    if (row["valid_from"] and at < row["valid_from"]) or (row["valid_until"] and at >= row["valid_until"]):
        return ev.deny("outside_window")
    ev.building_ids = tuple(
        sorted(
            {
                r[f"{_OCC}room__building_id"]
                for r in occupancies
                if r[f"{_OCC}end_date"] is None
                and r[f"{_OCC}estate_id"] == access_point.estate_id
                and r[f"{_OCC}room__building_id"] is not None
            }
        )
    )
    if ev.building_ids:
        ev.subject_kind = SubjectKind.RESIDENT
        return ev
    ev.roles = policy.staff_roles(user_id=ev.user_id, estate_path=_estate_path(access_point))
    if ev.roles:
        ev.subject_kind = SubjectKind.STAFF
        return ev
    return ev.deny("moved_out")


def _visitor_subject(ev: _Eval, token: str, access_point: AccessPoint, at: datetime, direction: str) -> _Eval:
    row = (
        VisitorPass.objects.filter(token=token)
        .values(
            "pk",
            "estate_id",
            "kind",
            "status",
            "valid_from",
            "valid_until",
            "max_entries",
            "entries_used",
            "host_room__building_id",
        )
        .first()
    )
    if row is None or row["estate_id"] != access_point.estate_id:
        return ev.deny("unknown_credential")
    ev.visitor_pass_id, ev.subject_kind = row["pk"], SubjectKind.VISITOR
    ev.visitor_kind, ev.host_building_id = row["kind"], row["host_room__building_id"]
    status = row["status"]
    if status == VisitorPassStatus.REVOKED:
        return ev.deny("revoked")
    if status == VisitorPassStatus.EXPIRED or not (row["valid_from"] <= at <= row["valid_until"]):
        return ev.deny("outside_window")
    entering = direction == Direction.IN
    if entering and (status == VisitorPassStatus.USED_UP or row["entries_used"] >= row["max_entries"]):
        return ev.deny("used_up")
    return ev


def _evaluate_qr(ev: _Eval, text: str, access_point: AccessPoint, at: datetime, direction: str) -> _Eval:
    try:
        code = qr.parse(text)
    except qr.InvalidCode as exc:
        return ev.deny(exc.reason)
    ev.nonce = code.nonce
    found = _public_key(code.kid)
    if found is None or found[0] != access_point.estate_id:
        return ev.deny("unknown_key")
    try:
        qr.check_signature(code, found[1])
        qr.check_time(code, at.timestamp())
    except qr.InvalidCode as exc:
        return ev.deny(exc.reason)
    if code.kind == qr.KIND_RESIDENT:
        row, occupancies = _pick(_credential_rows(token=code.subject, kind=CredentialKind.QR))
        _credential_subject(ev, row, occupancies, access_point, at)
    else:
        _visitor_subject(ev, code.subject, access_point, at, direction)
    ev.replay_check = not ev.reason
    return ev


def _by_hash(ev: _Eval, kind: str, digest: str, access_point: AccessPoint, at: datetime) -> _Eval:
    rows = _credential_rows(estate_id=access_point.estate_id, kind=kind, number_hash=digest)
    row, occupancies = _pick(rows)
    return _credential_subject(ev, row, occupancies, access_point, at)


def evaluate(
    *, access_point: AccessPoint, method: str, credential_text: str, at: datetime, direction: str
) -> _Eval:
    """Every read-only check up to (not including) replay and policies."""
    ev = _Eval()
    if access_point.status != AccessPoint.Status.ACTIVE:
        return ev.deny("point_disabled")
    if method not in (access_point.allowed_methods or ()) or method not in DECIDABLE:
        return ev.deny("method_not_allowed")
    if not isinstance(credential_text, str) or len(credential_text) > MAX_CREDENTIAL_LEN:
        return ev.deny("malformed")
    if method == Method.QR:
        return _evaluate_qr(ev, credential_text, access_point, at, direction)
    if method == Method.CARD:
        number = credentials.normalize_card(credential_text)
        if number is None:
            return ev.deny("malformed")
        return _by_hash(ev, CredentialKind.CARD, credentials.card_hash(number), access_point, at)
    pin = credential_text.strip()
    if not credentials.is_pin(pin):
        return ev.deny("malformed")
    return _by_hash(
        ev, CredentialKind.PIN, credentials.pin_hash(access_point.estate_id, pin), access_point, at
    )


def _visitor_audience(ev: _Eval, access_point: AccessPoint, cache: dict) -> str:
    """Delivery and service passes follow the service policies, or the visitor ones in an estate
    that has no service policy."""
    if ev.visitor_kind not in (VisitorKind.DELIVERY, VisitorKind.SERVICE):
        return Audience.VISITORS
    key = ("has_service", access_point.estate_id)
    if key not in cache:
        cache[key] = AccessPolicy.objects.filter(
            estate_id=access_point.estate_id, audience=Audience.SERVICE, is_active=True
        ).exists()
    return Audience.SERVICE if cache[key] else Audience.VISITORS


def policy_allows(ev: _Eval, access_point: AccessPoint, at: datetime, cache: dict | None = None) -> bool:
    """Step 5: may this (already identified and valid) subject pass here now?"""
    cache = policy.shared_cache() if cache is None else cache
    estate_id = access_point.estate_id
    if ev.subject_kind == SubjectKind.VISITOR:
        if access_point.building_id is not None and access_point.building_id != ev.host_building_id:
            return False
        building_ids = () if ev.host_building_id is None else (ev.host_building_id,)
        return policy.allowed(
            estate_id=estate_id,
            audience=_visitor_audience(ev, access_point, cache),
            access_point=access_point,
            at=at,
            building_ids=building_ids,
            cache=cache,
        )
    if ev.subject_kind == SubjectKind.RESIDENT:
        if policy.allowed(
            estate_id=estate_id,
            audience=Audience.RESIDENTS,
            access_point=access_point,
            at=at,
            building_ids=ev.building_ids,
            cache=cache,
        ):
            return True
        # A resident who also works in the estate may pass under the staff policies.
        ev.roles = policy.staff_roles(user_id=ev.user_id, estate_path=_estate_path(access_point))
    if ev.roles:
        return policy.allowed(
            estate_id=estate_id,
            audience=Audience.STAFF,
            access_point=access_point,
            at=at,
            roles=ev.roles,
            cache=cache,
        )
    return False


def visitor_pass_reason(*, token: str, access_point: AccessPoint, at: datetime) -> str:
    """Why a visitor pass may not enter at ``access_point`` now ("" = it may): the same checks as its
    code gets (window, entries left, host building, visitor or service policies) — used for
    staff-assisted entry, where no code is presented."""
    ev = _visitor_subject(_Eval(), token, access_point, at, Direction.IN)
    if ev.reason:
        return ev.reason
    return "" if policy_allows(ev, access_point, at) else "not_allowed"


def _nonce_fresh(nonce: str, access_point: AccessPoint, now: datetime) -> bool:
    """Record the code's use at this point; False when it was used here before (a replay).

    One statement that cannot fail on the unique (nonce, point) constraint: the row comes back only
    when it was inserted (PostgreSQL and SQLite ≥ 3.35 both speak ``ON CONFLICT … RETURNING``)."""
    table = CodeUse._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (nonce, access_point_id, used_at) VALUES (%s, %s, %s) "  # noqa: S608
            "ON CONFLICT (nonce, access_point_id) DO NOTHING RETURNING id",
            [nonce, access_point.pk, connection.ops.adapt_datetimefield_value(now)],
        )
        return cur.fetchone() is not None


def _event(
    *,
    access_point: AccessPoint,
    device,
    at: datetime,
    now: datetime,
    direction: str,
    method: str,
    result: str,
    reason: str,
    ev: _Eval,
    source: str,
    device_seq: int | None,
    detail: dict,
) -> AccessEvent:
    return AccessEvent(
        estate_id=access_point.estate_id,
        path=access_point.path,
        access_point=access_point,
        device=device,
        occurred_at=at,
        received_at=now,
        direction=direction,
        method=method if method in Method.values else "",
        result=result,
        reason=reason,
        subject_kind=ev.subject_kind,
        person_id=ev.person_id,
        visitor_pass_id=ev.visitor_pass_id,
        credential_id=ev.credential_id,
        source=source,
        device_seq=device_seq,
        code_nonce=ev.nonce,
        detail=detail,
    )


def _from_event(event: AccessEvent) -> Decision:
    return Decision(
        result=event.result,
        reason=event.reason,
        subject_kind=event.subject_kind,
        person_id=event.person_id,
        visitor_pass_id=event.visitor_pass_id,
        credential_id=event.credential_id,
        event_id=event.pk,
    )


class _Duplicate(Exception):
    pass


def decide(
    *,
    access_point: AccessPoint,
    method: str,
    credential_text: str,
    at: datetime | None = None,
    device=None,
    direction: str | None = None,
    source: str = EventSource.ONLINE,
    device_seq: int | None = None,
) -> Decision:
    """Decide whether ``credential_text`` presented by ``method`` opens ``access_point`` at ``at``
    (default now), store the decision as an ``AccessEvent`` and return it.

    With ``device`` and ``device_seq`` the call is idempotent: the decision already stored under that
    sequence number is returned as it was.
    """
    now = timezone.now()
    at = at or now
    if device is not None and device_seq is not None:
        stored = AccessEvent.objects.filter(device=device, device_seq=device_seq).first()
        if stored is not None:
            return _from_event(stored)
    direction = effective_direction(access_point, direction)
    ev = evaluate(
        access_point=access_point, method=method, credential_text=credential_text, at=at, direction=direction
    )
    policy_ok = not ev.reason and policy_allows(ev, access_point, at)
    try:
        with transaction.atomic():
            reason = ev.reason
            if ev.replay_check and not _nonce_fresh(ev.nonce, access_point, now):
                reason = "replayed"
            if not reason and not policy_ok:
                reason = "not_allowed"
            entering_visitor = ev.visitor_pass_id and direction == Direction.IN
            if not reason and entering_visitor and not consume_entry(ev.visitor_pass_id):
                reason = "used_up"
            event = _event(
                access_point=access_point,
                device=device,
                at=at,
                now=now,
                direction=direction,
                method=method,
                result=DENY if reason else ALLOW,
                reason=reason or OK,
                ev=ev,
                source=source,
                device_seq=device_seq,
                detail=ev.detail,
            )
            if device_seq is None:
                event.save(force_insert=True)
            else:
                try:
                    with transaction.atomic():
                        event.save(force_insert=True)
                except IntegrityError:
                    raise _Duplicate() from None
    except _Duplicate:  # the same (device, seq) was stored concurrently
        return _from_event(AccessEvent.objects.get(device=device, device_seq=device_seq))
    run_anomaly_rules([event])
    return _from_event(event)


# --- offline uploads -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfflineDecision:
    """A decision a gate made on its own while it could not reach the server."""

    seq: int
    occurred_at: datetime
    method: str
    result: str
    credential: str = ""
    reason: str = ""
    direction: str | None = None
    access_point: str | None = None  # the point's code …
    door_no: int | None = None  # … or the door number on this device


def _points_of(device, decisions: list[OfflineDecision]) -> dict:
    codes = {d.access_point for d in decisions if d.access_point}
    doors = {d.door_no or 1 for d in decisions if not d.access_point}
    found: dict = {}
    if codes:
        for p in AccessPoint.objects.filter(estate_id=device.estate_id, code__in=codes):
            found[("code", p.code)] = p
    if doors:
        for p in AccessPoint.objects.filter(device=device, door_no__in=doors):
            found[("door", p.door_no)] = p
    return found


def _deny_reason(device_reason: str, server: str) -> str:
    if device_reason in REASONS and device_reason != OK:
        return device_reason
    if server in REASONS and server != OK:
        return server
    return "not_allowed"


def _offline_detail(d: OfflineDecision, server: str) -> dict:
    detail = {"server_reason": server or OK}
    if d.reason and d.reason not in REASONS:
        detail["device_reason"] = d.reason[:32]
    return detail


def record_offline(*, device, decisions: list[OfflineDecision]) -> dict:
    """Store what a gate decided offline, once per (device, seq).

    The gate's own result is what happened at the door and is stored as it is (``source`` offline);
    the server's view of the same credential at that moment is kept in ``detail["server_reason"]``
    (e.g. a card revoked after the gate's last sync). An allowed visitor entry takes one entry of the
    pass; a QR nonce is recorded so the same code is a replay online afterwards.
    Returns ``{"stored", "duplicates", "rejected": [{"seq", "reason"}]}``.
    """
    now = timezone.now()
    points = _points_of(device, decisions)
    seqs = [d.seq for d in decisions]
    existing = set(
        AccessEvent.objects.filter(device=device, device_seq__in=seqs).values_list("device_seq", flat=True)
    )
    stored: list[AccessEvent] = []
    rejected: list[dict] = []
    duplicates = 0
    seen: set[int] = set()
    cache: dict = {}
    for d in decisions:
        if d.seq in existing or d.seq in seen:
            duplicates += 1
            continue
        seen.add(d.seq)
        point = points.get(("code", d.access_point) if d.access_point else ("door", d.door_no or 1))
        if point is None:
            rejected.append({"seq": d.seq, "reason": "unknown_access_point"})
            continue
        if d.occurred_at > now + FUTURE_TOLERANCE:
            rejected.append({"seq": d.seq, "reason": "in_future"})
            continue
        direction = effective_direction(point, d.direction)
        if d.method in DECIDABLE:
            ev = evaluate(
                access_point=point,
                method=d.method,
                credential_text=d.credential,
                at=d.occurred_at,
                direction=direction,
            )
        else:  # face, voice, staff …: matched on the device, nothing for the server to re-check
            ev = _Eval(reason="unverified")
        policy_ok = not ev.reason and policy_allows(ev, point, d.occurred_at, cache)
        try:
            with transaction.atomic():
                server = ev.reason
                if ev.replay_check and not _nonce_fresh(ev.nonce, point, now):
                    server = "replayed"
                if not server and not policy_ok:
                    server = "not_allowed"
                allowed = d.result == ALLOW
                reason = OK if allowed else _deny_reason(d.reason, server)
                event = _event(
                    access_point=point,
                    device=device,
                    at=d.occurred_at,
                    now=now,
                    direction=direction,
                    method=d.method,
                    result=ALLOW if allowed else DENY,
                    reason=reason[:32],
                    ev=ev,
                    source=EventSource.OFFLINE,
                    device_seq=d.seq,
                    detail=_offline_detail(d, server),
                )
                try:
                    with transaction.atomic():
                        event.save(force_insert=True)
                except IntegrityError:
                    raise _Duplicate() from None
                if allowed and ev.visitor_pass_id and direction == Direction.IN:
                    consume_entry(ev.visitor_pass_id)
        except _Duplicate:
            duplicates += 1
            continue
        stored.append(event)
    run_anomaly_rules(stored)
    return {"stored": len(stored), "duplicates": duplicates, "rejected": rejected}


# --- what a gate needs to decide offline -----------------------------------------------------------


def offline_bundle(*, estate_id: int) -> dict:
    """The estate's public keys (active, and retired within a day), the subject tokens a gate must
    refuse although their codes still verify (suspended or revoked 一码通 identities, revoked or used
    visitor passes still inside their window), and the clock skew the server tolerates."""
    from datetime import UTC

    from django.db.models import Q

    from linli.access.models import SigningKey

    now = timezone.now()
    keys.active_key(estate_id)
    since = now - timedelta(days=1)
    key_rows = (
        SigningKey.objects.filter(estate_id=estate_id)
        .filter(Q(retired_at__isnull=True) | Q(retired_at__gte=since))
        .order_by("-created_at")
        .values("kid", "public_key", "retired_at")
    )
    revoked = list(
        Credential.objects.filter(
            estate_id=estate_id,
            kind=CredentialKind.QR,
            status__in=(CredentialStatus.SUSPENDED, CredentialStatus.REVOKED),
        )
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gte=since))
        .exclude(token=None)
        .values_list("token", flat=True)
    )
    revoked += list(
        VisitorPass.objects.filter(
            estate_id=estate_id,
            status__in=(VisitorPassStatus.REVOKED, VisitorPassStatus.USED_UP),
            valid_until__gt=now,
        ).values_list("token", flat=True)
    )
    return {
        "estate_id": estate_id,
        "keys": [
            {"kid": k["kid"], "public_key": k["public_key"], "active": k["retired_at"] is None}
            for k in key_rows
        ],
        "revoked_subjects": sorted(revoked),
        "skew_seconds": qr.DEFAULT_SKEW,
        "server_time": datetime.fromtimestamp(int(now.timestamp()), UTC),
    }
