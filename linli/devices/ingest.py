"""The ingest pipeline: validate a batch of device messages, store it once, update device health,
record rejections, then hand the newly stored items to the alarm engine — all in one transaction.

Callers: the MQTT gateway (raw ``(topic, payload)`` pairs, signed canonical payloads) and the HTTP
ingest endpoints of NB-IoT clouds (``Message`` objects built by the vendor adapters, authenticated
by the cloud's own mechanism). Throughput matters (≥ 10,000 msg/s): no ORM object per message, raw
SQL with COPY on PostgreSQL and ``executemany`` on SQLite, an in-process device cache.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import connection, transaction

from linli.devices import canonical
from linli.devices.canonical import Message, Rejected

CACHE_TTL = 10.0  # seconds; revocation/rotation also invalidate in this process at once
SAMPLES_PER_BATCH = 20  # RejectedMessage rows per batch at most (counters are always exact)


@dataclass(frozen=True, slots=True)
class StoredItem:
    """A newly stored telemetry or event row, as handed to the alarm engine."""

    device_id: int
    kind: str
    seq: int
    ts: datetime
    values: dict
    event: str | None
    data: dict


@dataclass(slots=True)
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class CachedDevice:
    id: int
    key: str
    estate_id: int
    estate_code: str
    secret: str
    active: bool
    points: dict[str, tuple[str, Any, Any, frozenset | None]]
    events: frozenset[str]


class _DeviceCache:
    """key → CachedDevice (or None for unknown keys), each entry valid for CACHE_TTL seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, tuple[float, CachedDevice | None]] = {}
        self._by_vendor: dict[tuple[str, str], tuple[float, str | None]] = {}

    def clear(self) -> None:
        with self._lock:
            self._by_key.clear()
            self._by_vendor.clear()

    def invalidate(self, key: str, vendor: tuple[str, str] | None = None) -> None:
        with self._lock:
            self._by_key.pop(key, None)
            if vendor is not None:
                self._by_vendor.pop(vendor, None)

    def get_many(self, keys: set[str]) -> dict[str, CachedDevice | None]:
        now = time.monotonic()
        found: dict[str, CachedDevice | None] = {}
        missing: list[str] = []
        for key in keys:
            hit = self._by_key.get(key)
            if hit is not None and hit[0] > now:
                found[key] = hit[1]
            else:
                missing.append(key)
        if missing:
            loaded = _load_devices(missing)
            expires = now + CACHE_TTL
            with self._lock:
                for key in missing:
                    dev = loaded.get(key)
                    self._by_key[key] = (expires, dev)
                    found[key] = dev
        return found

    def keys_for_vendor(self, adapter: str, vendor_ids: set[str]) -> dict[str, str | None]:
        from linli.devices.models import Device

        now = time.monotonic()
        out: dict[str, str | None] = {}
        missing = []
        for vid in vendor_ids:
            hit = self._by_vendor.get((adapter, vid))
            if hit is not None and hit[0] > now:
                out[vid] = hit[1]
            else:
                missing.append(vid)
        if missing:
            rows = dict(
                Device.objects.filter(adapter=adapter, vendor_id__in=missing).values_list("vendor_id", "key")
            )
            with self._lock:
                for vid in missing:
                    self._by_vendor[(adapter, vid)] = (now + CACHE_TTL, rows.get(vid))
                    out[vid] = rows.get(vid)
        return out


def _profile_points(points: list[dict]) -> dict[str, tuple[str, Any, Any, frozenset | None]]:
    out = {}
    for p in points or []:
        values = p.get("values")
        out[p["key"]] = (
            p.get("kind", "number"),
            p.get("min"),
            p.get("max"),
            frozenset(values) if values else None,
        )
    return out


def _load_devices(keys: list[str]) -> dict[str, CachedDevice]:
    from linli.devices.models import Device, DeviceStatus, estate_code_of

    out = {}
    rows = (
        Device.objects.filter(key__in=keys)
        .select_related("estate", "profile")
        .only(
            "id",
            "key",
            "secret",
            "status",
            "estate__id",
            "estate__code",
            "profile__points",
            "profile__events",
        )
    )
    for d in rows:
        out[d.key] = CachedDevice(
            id=d.id,
            key=d.key,
            estate_id=d.estate_id,
            estate_code=estate_code_of(d.estate),
            secret=d.secret or "",
            active=d.status == DeviceStatus.ACTIVE,
            points=_profile_points(d.profile.points),
            events=frozenset(e["key"] for e in d.profile.events or []),
        )
    return out


cache = _DeviceCache()


def invalidate_device(key: str, vendor: tuple[str, str] | None = None) -> None:
    """Forget a device's cached credentials in this process (after create / rotate / revoke / disable)."""
    cache.invalidate(key, vendor)


def device_keys_for_vendor(adapter: str, vendor_ids: set[str]) -> dict[str, str | None]:
    """Map an adapter's vendor ids (IMEI, cloud device id, serial) to device keys (None = unknown)."""
    return cache.keys_for_vendor(adapter, vendor_ids)


def validate_values(dev: CachedDevice, values: dict) -> None:
    """Every value must be a declared point of the device's profile, of its kind and in its range."""
    for key, value in values.items():
        spec = dev.points.get(key)
        if spec is None:
            raise Rejected("unknown_point", key)
        kind, lo, hi, allowed = spec
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise Rejected("bad_value", key)
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise Rejected("out_of_range", f"{key}={value}")
        elif kind == "bool":
            if not isinstance(value, bool):
                raise Rejected("bad_value", key)
        elif kind == "enum":
            if not isinstance(value, str) or (allowed is not None and value not in allowed):
                raise Rejected("bad_value", key)
        elif not isinstance(value, str):
            raise Rejected("bad_value", key)


def _sample(payload: Any) -> str:
    if isinstance(payload, bytes):
        return payload[:500].decode("utf-8", "replace")[:500]
    return str(payload)[:500]


def ingest(raw: list[tuple[str, bytes]] | list[Message], *, via: str) -> IngestResult:
    """Validate, store (once per device and seq), update health, record rejections, evaluate rules.

    ``raw`` is either MQTT ``(topic, payload)`` pairs (signature checked) or ``Message`` objects
    from an adapter whose transport was authenticated already (``via`` names it, e.g. "http:onenet").
    Runs in one transaction: if anything fails, nothing of the batch is stored (the gateway does not
    acknowledge and the broker redelivers).
    """
    result = IngestResult()
    if not raw:
        return result
    now = datetime.now(UTC)
    accepted: list[tuple[CachedDevice, Message]] = []
    rejections: list[tuple[int | None, str, str, str]] = []  # device_id, reason, topic, sample

    if isinstance(raw[0], Message):
        devices = cache.get_many({m.device_key for m in raw})  # type: ignore[union-attr]
        for msg in raw:
            dev = devices.get(msg.device_key)  # type: ignore[union-attr]
            try:
                if dev is None:
                    raise Rejected("unknown_device", msg.device_key)  # type: ignore[union-attr]
                if not dev.active:
                    raise Rejected("inactive_device")
                _check(dev, msg)  # type: ignore[arg-type]
            except Rejected as exc:
                rejections.append((dev.id if dev else None, exc.reason, via, _sample(msg)))
                continue
            accepted.append((dev, msg))  # type: ignore[arg-type]
    else:
        decoded: list[tuple[str, str, bytes, Any]] = []
        keys: set[str] = set()
        for topic, payload in raw:  # type: ignore[misc]
            try:
                estate_code, msg, body, sig = canonical.decode(topic, payload, now=now)
            except Rejected as exc:
                rejections.append((None, exc.reason, topic, _sample(payload)))
                decoded.append((topic, "", payload, None))
                continue
            keys.add(msg.device_key)
            decoded.append((topic, estate_code, payload, (msg, body, sig)))
        devices = cache.get_many(keys) if keys else {}
        for topic, estate_code, payload, parsed in decoded:
            if parsed is None:
                continue
            msg, body, sig = parsed
            dev = devices.get(msg.device_key)
            try:
                if dev is None:
                    raise Rejected("unknown_device", msg.device_key)
                if not canonical.verify(topic, body, sig, dev.secret):
                    raise Rejected("bad_signature")
                if dev.estate_code != estate_code:
                    raise Rejected("wrong_estate", estate_code)
                if not dev.active:
                    raise Rejected("inactive_device")
                _check(dev, msg)
            except Rejected as exc:
                # A forged message still names a device: count it on that device's health so the
                # console shows someone is publishing as it.
                rejections.append((dev.id if dev else None, exc.reason, topic, _sample(payload)))
                continue
            accepted.append((dev, msg))

    with transaction.atomic():
        stored = _store(accepted, rejections, now, result)
        if stored:
            engine = _engine()
            engine.evaluate(stored)
    return result


def _check(dev: CachedDevice, msg: Message) -> None:
    if msg.kind == "telemetry":
        validate_values(dev, msg.values)
    elif msg.kind == "event" and msg.event not in dev.events:
        raise Rejected("unknown_event", str(msg.event))


def _engine():
    from linli.alarms import engine

    return engine


def _store(
    accepted: list[tuple[CachedDevice, Message]],
    rejections: list[tuple[int | None, str, str, str]],
    now: datetime,
    result: IngestResult,
) -> list[StoredItem]:
    tel: dict[tuple[int, int], Message] = {}
    evt: dict[tuple[int, int], Message] = {}
    # device_id → [accepted, max seq, battery, signal, online]
    health: dict[int, list[Any]] = {}
    for dev, msg in accepted:
        h = health.get(dev.id)
        if h is None:
            h = health[dev.id] = [0, 0, None, None, True]
        h[1] = max(h[1], msg.seq)
        values = msg.values
        if msg.kind == "status":
            if "online" in values:
                h[4] = bool(values["online"])
            if "battery" in values:
                h[2] = values["battery"]
            if "signal" in values:
                h[3] = values["signal"]
            continue
        for key, slot in (("battery", 2), ("signal", 3)):
            v = values.get(key)
            if isinstance(v, int | float) and not isinstance(v, bool):
                h[slot] = int(v)
        target = tel if msg.kind == "telemetry" else evt
        pair = (dev.id, msg.seq)
        if pair in target:
            result.duplicates += 1  # the same message twice in one batch
        else:
            target[pair] = msg

    rejected_by_device = Counter(d for d, _, _, _ in rejections if d is not None)
    result.rejected = len(rejections)
    result.reasons.update(reason for _, reason, _, _ in rejections)

    stored: list[StoredItem] = []
    vendor = connection.vendor
    with connection.cursor() as cur:
        went_offline: list[int] = []
        came_back: list[int] = []
        if health:
            ids = list(health)
            marks = ",".join(["%s"] * len(ids))
            cur.execute(f"SELECT id, online FROM devices_device WHERE id IN ({marks})", ids)  # noqa: S608
            was_online = dict(cur.fetchall())
            for device_id, h in health.items():
                if h[4] and not was_online.get(device_id):
                    came_back.append(device_id)
                elif not h[4] and was_online.get(device_id):
                    went_offline.append(device_id)
            # Health first: on SQLite the first write takes the database write lock, so the
            # duplicate check below cannot race another gateway's batch.
            cur.executemany(
                "UPDATE devices_device SET online = %s, last_seen_at = %s,"
                " battery = COALESCE(%s, battery), signal = COALESCE(%s, signal),"
                " last_seq = CASE WHEN last_seq < %s THEN %s ELSE last_seq END,"
                " rejected_count = rejected_count + %s WHERE id = %s",
                [
                    (h[4], now, h[2], h[3], h[1], h[1], rejected_by_device.pop(device_id, 0), device_id)
                    for device_id, h in health.items()
                ],
            )
        if rejected_by_device:
            cur.executemany(
                "UPDATE devices_device SET rejected_count = rejected_count + %s WHERE id = %s",
                [(n, device_id) for device_id, n in rejected_by_device.items()],
            )
        if rejections:
            from linli.devices.models import RejectedMessage

            RejectedMessage.objects.bulk_create(
                [
                    RejectedMessage(
                        device_id=d, reason=reason[:64], topic=topic[:255], received_at=now, sample=s
                    )
                    for d, reason, topic, s in rejections[:SAMPLES_PER_BATCH]
                ]
            )
        new_tel = _insert(cur, vendor, "devices_telemetry", tel, now)
        new_evt = _insert(cur, vendor, "devices_deviceevent", evt, now)
        result.duplicates += len(tel) - len(new_tel) + len(evt) - len(new_evt)
        per_device: Counter = Counter()
        for pair in new_tel:
            m = tel[pair]
            per_device[pair[0]] += 1
            stored.append(StoredItem(pair[0], "telemetry", m.seq, m.ts, m.values, None, {}))
        for pair in new_evt:
            m = evt[pair]
            per_device[pair[0]] += 1
            stored.append(StoredItem(pair[0], "event", m.seq, m.ts, {}, m.event, m.data))
        if per_device:
            cur.executemany(
                "UPDATE devices_device SET accepted_count = accepted_count + %s WHERE id = %s",
                [(n, device_id) for device_id, n in per_device.items()],
            )
    result.stored = len(stored)
    if went_offline or came_back:
        _engine().offline_changed(went_offline, came_back)
    return stored


def _insert(cur, vendor: str, table: str, rows: dict[tuple[int, int], Message], now: datetime) -> list:
    """Insert rows, skipping (device, seq) pairs already stored; return the pairs that were new."""
    if not rows:
        return []
    is_event = table == "devices_deviceevent"
    if vendor == "postgresql":
        return _insert_pg(cur, table, rows, now, is_event)
    return _insert_sqlite(cur, table, rows, now, is_event)


def _insert_pg(cur, table: str, rows: dict, now: datetime, is_event: bool) -> list:
    raw = cur.cursor  # psycopg cursor under Django's wrapper, same connection and transaction
    tmp = "_ingest_evt" if is_event else "_ingest_tel"
    extra_cols = "event text, data jsonb" if is_event else '"values" jsonb'
    raw.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (device_id bigint, seq bigint, ts timestamptz,"
        f" received_at timestamptz, {extra_cols}) ON COMMIT DELETE ROWS"
    )
    cols = (
        "device_id, seq, ts, received_at, event, data"
        if is_event
        else 'device_id, seq, ts, received_at, "values"'
    )
    with raw.copy(f"COPY {tmp} ({cols}) FROM STDIN") as copy:
        if is_event:
            for (device_id, seq), m in rows.items():
                copy.write_row((device_id, seq, m.ts, now, m.event, orjson.dumps(m.data).decode()))
        else:
            for (device_id, seq), m in rows.items():
                copy.write_row((device_id, seq, m.ts, now, orjson.dumps(m.values).decode()))
    raw.execute(
        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {tmp}"  # noqa: S608
        " ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id, seq"
    )
    new = [tuple(r) for r in raw.fetchall()]
    raw.execute(f"DELETE FROM {tmp}")  # noqa: S608 - the batch may be followed by another in the same transaction
    return new


def _sqlite_dt(dt: datetime) -> str:
    # Django's SQLite backend stores aware datetimes as naive UTC text.
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def _insert_sqlite(cur, table: str, rows: dict, now: datetime, is_event: bool) -> list:
    device_ids = sorted({d for d, _ in rows})
    seqs = sorted({s for _, s in rows})
    existing: set[tuple[int, int]] = set()
    # One query per chunk of sequence numbers (SQLite caps bound parameters); a superset of the
    # batch's pairs, filtered in Python.
    for i in range(0, len(seqs), 20000):
        chunk = seqs[i : i + 20000]
        cur.execute(
            f"SELECT device_id, seq FROM {table} WHERE device_id IN ({','.join(['%s'] * len(device_ids))})"  # noqa: S608
            f" AND seq IN ({','.join(['%s'] * len(chunk))})",
            [*device_ids, *chunk],
        )
        existing.update((d, s) for d, s in cur.fetchall())
    new = [pair for pair in rows if pair not in existing]
    if not new:
        return []
    received = _sqlite_dt(now)
    if is_event:
        cur.executemany(
            f"INSERT OR IGNORE INTO {table} (device_id, seq, ts, received_at, event, data)"  # noqa: S608 - fixed table
            " VALUES (%s,%s,%s,%s,%s,%s)",
            [
                (
                    d,
                    s,
                    _sqlite_dt(rows[(d, s)].ts),
                    received,
                    rows[(d, s)].event,
                    orjson.dumps(rows[(d, s)].data).decode(),
                )
                for d, s in new
            ],
        )
    else:
        cur.executemany(
            f'INSERT OR IGNORE INTO {table} (device_id, seq, ts, received_at, "values")'  # noqa: S608 - fixed table
            " VALUES (%s,%s,%s,%s,%s)",
            [
                (d, s, _sqlite_dt(rows[(d, s)].ts), received, orjson.dumps(rows[(d, s)].values).decode())
                for d, s in new
            ],
        )
    return new


def record_rejected(*, reason: str, topic: str, sample: Any, device_id: int | None = None) -> None:
    """Count and sample one rejection outside a batch (HTTP pushes naming an unknown device)."""
    from linli.devices.models import Device, RejectedMessage

    with transaction.atomic():
        if device_id is not None:
            from django.db.models import F

            Device.objects.filter(pk=device_id).update(rejected_count=F("rejected_count") + 1)
        RejectedMessage.objects.create(
            device_id=device_id,
            reason=reason[:64],
            topic=topic[:255],
            received_at=datetime.now(UTC),
            sample=_sample(sample),
        )
