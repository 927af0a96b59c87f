"""The ingest pipeline: validate a batch of device messages, store it once, update device health,
record rejections, then announce the newly stored items (``devices.events.MessagesStored``: the
alarm engine evaluates its rules on them) — all in one transaction.

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

from linli.core import events
from linli.devices import canonical
from linli.devices.canonical import MAX_FUTURE, Message, Rejected
from linli.devices.events import ConnectivityChanged, MessagesStored, StoredItem

CACHE_TTL = 10.0  # seconds; revocation/rotation also invalidate in this process at once
SAMPLES_PER_BATCH = 20  # RejectedMessage rows per batch at most (counters are always exact)
_NUMBER = (int, float)
SMALL_BATCH = 64  # up to this many rows: one INSERT … ON CONFLICT; above: COPY (see _insert_pg)


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
    keyed: Any = None  # canonical.signer(secret): copied per message to check signatures


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
            "profile__id",
            "profile__points",
            "profile__events",
        )
    )
    tables: dict[int, tuple] = {}  # profile id → (points, events), shared by the devices of a profile
    for d in rows:
        table = tables.get(d.profile_id)
        if table is None:
            table = tables[d.profile_id] = (
                _profile_points(d.profile.points),
                frozenset(e["key"] for e in d.profile.events or []),
            )
        out[d.key] = CachedDevice(
            id=d.id,
            key=d.key,
            estate_id=d.estate_id,
            estate_code=estate_code_of(d.estate),
            secret=d.secret or "",
            active=d.status == DeviceStatus.ACTIVE,
            points=table[0],
            events=table[1],
            keyed=canonical.signer(d.secret) if d.secret else None,
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


def _validate_plain(points: dict, values: dict) -> None:
    """``validate_values`` for values decoded by orjson (exact built-in types): same checks, reasons
    and order, without the isinstance unions."""
    for key, value in values.items():
        spec = points.get(key)
        if spec is None:
            raise Rejected("unknown_point", key)
        kind, lo, hi, allowed = spec
        if kind == "number":
            t = type(value)
            if t is not int and t is not float:
                raise Rejected("bad_value", key)
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise Rejected("out_of_range", f"{key}={value}")
        elif kind == "bool":
            if type(value) is not bool:
                raise Rejected("bad_value", key)
        elif kind == "enum":
            if type(value) is not str or (allowed is not None and value not in allowed):
                raise Rejected("bad_value", key)
        elif type(value) is not str:
            raise Rejected("bad_value", key)


def _sample(payload: Any) -> str:
    if isinstance(payload, bytes):
        return payload[:500].decode("utf-8", "replace")[:500]
    return str(payload)[:500]


# An accepted message, as the rest of the pipeline sees it (no per-message objects on the hot path):
# (device, kind, seq, ts, values, event, data)
Accepted = tuple


class _Redelivered(Exception):
    """The fast COPY met a (device, seq) already stored: the batch is stored again, skipping those."""


def ingest(raw: list[tuple[str, bytes]] | list[Message], *, via: str) -> IngestResult:
    """Validate, store (once per device and seq), update health, record rejections, announce the batch.

    ``raw`` is either MQTT ``(topic, payload)`` pairs (signature checked) or ``Message`` objects
    from an adapter whose transport was authenticated already (``via`` names it, e.g. "http:onenet").
    Runs in one transaction: if anything fails, nothing of the batch is stored (the gateway does not
    acknowledge and the broker redelivers).
    """
    if not raw:
        return IngestResult()
    now = datetime.now(UTC)
    rejections: list[tuple[int | None, str, str, str]] = []  # device_id, reason, topic, sample
    if isinstance(raw[0], Message):
        accepted = _accept_messages(raw, via, rejections)  # type: ignore[arg-type]
    else:
        accepted = _accept_mqtt(raw, now, rejections)  # type: ignore[arg-type]
    fast = True
    while True:
        result = IngestResult()
        try:
            with transaction.atomic():
                stored, finish = _store(accepted, rejections, now, result, fast=fast)
                if stored:
                    events.publish(MessagesStored(items=tuple(stored)))
                finish()
        except _Redelivered:
            fast = False  # rolled back: nothing of the attempt is stored
            continue
        return result


def _accept_messages(raw: list[Message], via: str, rejections: list) -> list[Accepted]:
    accepted: list[Accepted] = []
    devices = cache.get_many({m.device_key for m in raw})
    for msg in raw:
        dev = devices.get(msg.device_key)
        try:
            if dev is None:
                raise Rejected("unknown_device", msg.device_key)
            if not dev.active:
                raise Rejected("inactive_device")
            _check(dev, msg)
        except Rejected as exc:
            rejections.append((dev.id if dev else None, exc.reason, via, _sample(msg)))
            continue
        accepted.append((dev, msg.kind, msg.seq, msg.ts, msg.values, msg.event, msg.data))
    return accepted


def _accept_mqtt(raw: list[tuple[str, bytes]], now: datetime, rejections: list) -> list[Accepted]:
    """Decode every payload (straight into field tuples), then check signature, estate, status and
    profile with the devices of the batch loaded at once."""
    prefix = canonical.root_prefix()
    ts_limit = now + MAX_FUTURE
    decode = canonical.decode_fields
    decoded: list[tuple[str, bytes, tuple]] = []
    keys: set[str] = set()
    for topic, payload in raw:
        try:
            fields = decode(topic, payload, prefix, ts_limit)
        except Rejected as exc:
            rejections.append((None, exc.reason, topic, _sample(payload)))
            continue
        keys.add(fields[1])
        decoded.append((topic, payload, fields))
    devices = cache.get_many(keys) if keys else {}
    verify = canonical.verify_unsigned
    accepted: list[Accepted] = []
    append = accepted.append
    for topic, payload, fields in decoded:
        estate_code, key, kind, seq, ts, values, event, data, unsigned, sig = fields
        dev = devices.get(key)
        try:
            if dev is None:
                raise Rejected("unknown_device", key)
            if not verify(topic, unsigned, sig, dev.keyed):
                raise Rejected("bad_signature")
            if dev.estate_code != estate_code:
                raise Rejected("wrong_estate", estate_code)
            if not dev.active:
                raise Rejected("inactive_device")
            if kind == "telemetry":
                _validate_plain(dev.points, values)
            elif kind == "event" and event not in dev.events:
                raise Rejected("unknown_event", str(event))
        except Rejected as exc:
            # A forged message still names a device: count it on that device's health so the
            # console shows someone is publishing as it.
            rejections.append((dev.id if dev else None, exc.reason, topic, _sample(payload)))
            continue
        append((dev, kind, seq, ts, values, event, data))
    return accepted


def _check(dev: CachedDevice, msg: Message) -> None:
    if msg.kind == "telemetry":
        validate_values(dev, msg.values)
    elif msg.kind == "event" and msg.event not in dev.events:
        raise Rejected("unknown_event", str(msg.event))


def _store(
    accepted: list[Accepted],
    rejections: list[tuple[int | None, str, str, str]],
    now: datetime,
    result: IngestResult,
    *,
    fast: bool = True,
):
    """Store the batch; returns (newly stored items, ``finish``) — call ``finish()`` after the batch
    was announced, still in the transaction.

    PostgreSQL: device rows are updated last, in one statement, so the row locks two gateways take on
    the same devices are held only for the end of a transaction. SQLite: device rows first (the first
    write takes the database lock, so the duplicate check cannot race another gateway's batch).
    """
    tel: dict[tuple[int, int], tuple] = {}  # (device_id, seq) → (ts, values)
    evt: dict[tuple[int, int], tuple] = {}  # (device_id, seq) → (ts, event, data)
    # device_id → [accepted, max seq, battery, signal, online]
    health: dict[int, list[Any]] = {}
    duplicates = 0
    for dev, kind, seq, ts, values, event, data in accepted:
        h = health.get(dev.id)
        if h is None:
            h = health[dev.id] = [0, 0, None, None, True]
        if seq > h[1]:
            h[1] = seq
        if kind == "status":
            if "online" in values:
                h[4] = bool(values["online"])
            if "battery" in values:
                h[2] = values["battery"]
            if "signal" in values:
                h[3] = values["signal"]
            continue
        if "battery" in values:
            v = values["battery"]
            if isinstance(v, _NUMBER) and not isinstance(v, bool):
                h[2] = int(v)
        if "signal" in values:
            v = values["signal"]
            if isinstance(v, _NUMBER) and not isinstance(v, bool):
                h[3] = int(v)
        pair = (dev.id, seq)
        if kind == "telemetry":
            if pair in tel:
                duplicates += 1  # the same message twice in one batch
            else:
                tel[pair] = (ts, values)
        elif pair in evt:
            duplicates += 1
        else:
            evt[pair] = (ts, event, data)
    result.duplicates += duplicates

    rejected_by_device = Counter(d for d, _, _, _ in rejections if d is not None)
    result.rejected = len(rejections)
    result.reasons.update(reason for _, reason, _, _ in rejections)

    stored: list[StoredItem] = []
    vendor = connection.vendor
    health_last = vendor == "postgresql"
    went_offline: list[int] = []
    came_back: list[int] = []
    with connection.cursor() as cur:
        if health:
            ids = sorted(health)
            if health_last:
                bound = _bound(cur)
                bound.execute("SELECT id, online FROM devices_device WHERE id = ANY(%s)", [ids])
                was_online = dict(bound.fetchall())
            else:
                marks = ",".join(["%s"] * len(ids))
                cur.execute(f"SELECT id, online FROM devices_device WHERE id IN ({marks})", ids)  # noqa: S608
                was_online = dict(cur.fetchall())
            for device_id in ids:
                online = health[device_id][4]
                if online and not was_online.get(device_id):
                    came_back.append(device_id)
                elif not online and was_online.get(device_id):
                    went_offline.append(device_id)
            if not health_last:
                _update_health(cur, vendor, health, rejected_by_device, now)
        if rejected_by_device and not health_last:
            cur.executemany(
                "UPDATE devices_device SET rejected_count = rejected_count + %s WHERE id = %s",
                [(n, device_id) for device_id, n in sorted(rejected_by_device.items())],
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
        new_tel = _insert(cur, vendor, "devices_telemetry", tel, now, fast)
        new_evt = _insert(cur, vendor, "devices_deviceevent", evt, now, fast)
        result.duplicates += len(tel) - len(new_tel) + len(evt) - len(new_evt)
        per_device: Counter = Counter()
        for pair in new_tel:
            ts, values = tel[pair]
            per_device[pair[0]] += 1
            stored.append(StoredItem(pair[0], "telemetry", pair[1], ts, values, None, {}))
        for pair in new_evt:
            ts, event, data = evt[pair]
            per_device[pair[0]] += 1
            stored.append(StoredItem(pair[0], "event", pair[1], ts, {}, event, data))
        if per_device and not health_last:
            cur.executemany(
                "UPDATE devices_device SET accepted_count = accepted_count + %s WHERE id = %s",
                [(n, device_id) for device_id, n in sorted(per_device.items())],
            )
    result.stored = len(stored)
    if went_offline or came_back:
        events.publish(ConnectivityChanged(went_offline=tuple(went_offline), came_back=tuple(came_back)))

    def finish() -> None:
        if health_last and (health or rejected_by_device):
            with connection.cursor() as cur:
                _update_devices_pg(cur, health, rejected_by_device, per_device, now)

    return stored, finish


def _update_health(cur, vendor: str, health: dict, rejected_by_device: Counter, now: datetime) -> None:
    cur.executemany(
        "UPDATE devices_device SET online = %s, last_seen_at = %s,"
        " battery = COALESCE(%s, battery), signal = COALESCE(%s, signal),"
        " last_seq = CASE WHEN last_seq < %s THEN %s ELSE last_seq END,"
        " rejected_count = rejected_count + %s WHERE id = %s",
        [
            (h[4], now, h[2], h[3], h[1], h[1], rejected_by_device.pop(device_id, 0), device_id)
            for device_id, h in sorted(health.items())
        ],
    )


def _bound(cur):
    """A cursor with server-side parameter binding on the same PostgreSQL connection and transaction:
    Django's client-side binding would render every array element into the SQL text in Python."""
    import psycopg

    return psycopg.Cursor(cur.cursor.connection)


def _update_devices_pg(cur, health: dict, rejected_by_device: Counter, accepted: Counter, now) -> None:
    """Health, accepted and rejected counters of every device of the batch: one statement (plus one
    for devices that only had rejections), rows in id order."""
    cur = _bound(cur)
    if health:
        ids = sorted(health)
        hs = [health[i] for i in ids]
        cur.execute(
            "UPDATE devices_device AS d SET online = u.online, last_seen_at = %s,"
            " battery = COALESCE(u.battery, d.battery), signal = COALESCE(u.signal, d.signal),"
            " last_seq = CASE WHEN d.last_seq < u.last_seq THEN u.last_seq ELSE d.last_seq END,"
            " rejected_count = d.rejected_count + u.rejected, accepted_count = d.accepted_count + u.accepted"
            " FROM unnest(%s::bigint[], %s::boolean[], %s::integer[], %s::integer[], %s::bigint[],"
            " %s::integer[], %s::bigint[]) AS u(id, online, battery, signal, last_seq, rejected, accepted)"
            " WHERE d.id = u.id",
            [
                now,
                ids,
                [h[4] for h in hs],
                [h[2] for h in hs],
                [h[3] for h in hs],
                [h[1] for h in hs],
                [rejected_by_device.pop(i, 0) for i in ids],
                [accepted.get(i, 0) for i in ids],
            ],
        )
    if rejected_by_device:
        ids = sorted(rejected_by_device)
        cur.execute(
            "UPDATE devices_device AS d SET rejected_count = d.rejected_count + u.n"
            " FROM unnest(%s::bigint[], %s::integer[]) AS u(id, n) WHERE d.id = u.id",
            [ids, [rejected_by_device[i] for i in ids]],
        )


def _insert(cur, vendor: str, table: str, rows: dict, now: datetime, fast: bool) -> list:
    """Insert rows, skipping (device, seq) pairs already stored; return the pairs that were new."""
    if not rows:
        return []
    is_event = table == "devices_deviceevent"
    if vendor == "postgresql":
        if len(rows) <= SMALL_BATCH:
            return _insert_pg_values(cur, table, rows, now, is_event)
        if fast:
            return _copy_pg(cur, table, rows, now, is_event)
        return _insert_pg(cur, table, rows, now, is_event)
    return _insert_sqlite(cur, table, rows, now, is_event)


_TEL_COLS = 'device_id, seq, ts, received_at, "values"'
_EVT_COLS = "device_id, seq, ts, received_at, event, data"


def _insert_pg_values(cur, table: str, rows: dict, now: datetime, is_event: bool) -> list:
    """A few rows: one INSERT … ON CONFLICT DO NOTHING RETURNING (one round trip)."""
    dumps = orjson.dumps
    params: list = []
    if is_event:
        for (device_id, seq), (ts, event, data) in rows.items():
            params += (device_id, seq, ts, now, event, dumps(data).decode())
        cols, marks = _EVT_COLS, "(%s,%s,%s,%s,%s,%s::jsonb)"
    else:
        for (device_id, seq), (ts, values) in rows.items():
            params += (device_id, seq, ts, now, dumps(values).decode())
        cols, marks = _TEL_COLS, "(%s,%s,%s,%s,%s::jsonb)"
    raw = _bound(cur)
    raw.execute(
        f"INSERT INTO {table} ({cols}) VALUES {','.join([marks] * len(rows))}"  # noqa: S608 - fixed table
        " ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id, seq",
        params,
    )
    return [tuple(r) for r in raw.fetchall()]


def _copy_pg(cur, table: str, rows: dict, now: datetime, is_event: bool) -> list:
    """Many rows: COPY straight into the table. A (device, seq) stored before (a redelivery) makes
    the COPY fail; the whole batch is then stored again through ``_insert_pg`` (``_Redelivered``)."""
    from psycopg import errors

    raw = cur.cursor  # psycopg cursor under Django's wrapper, same connection and transaction
    dumps = orjson.dumps
    try:
        if is_event:
            with raw.copy(f"COPY {table} ({_EVT_COLS}) FROM STDIN") as copy:
                for (device_id, seq), (ts, event, data) in rows.items():
                    copy.write_row((device_id, seq, ts, now, event, dumps(data).decode()))
        else:
            # COPY text rows built here: ids and timestamps need no escaping, and orjson escapes
            # tabs and newlines inside JSON strings, so only backslashes must be doubled.
            received = now.isoformat()
            lines = []
            for (device_id, seq), (ts, values) in rows.items():
                text = dumps(values).decode()
                if "\\" in text:
                    text = text.replace("\\", "\\\\")
                lines.append(f"{device_id}\t{seq}\t{ts.isoformat()}\t{received}\t{text}\n")
            with raw.copy(f"COPY {table} ({_TEL_COLS}) FROM STDIN") as copy:
                copy.write("".join(lines))
    except errors.UniqueViolation:
        raise _Redelivered from None
    return list(rows)


def _insert_pg(cur, table: str, rows: dict, now: datetime, is_event: bool) -> list:
    """Many rows, some possibly stored already: COPY into a temporary table, then INSERT … ON
    CONFLICT DO NOTHING RETURNING."""
    raw = cur.cursor
    tmp = "_ingest_evt" if is_event else "_ingest_tel"
    extra_cols = "event text, data jsonb" if is_event else '"values" jsonb'
    raw.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (device_id bigint, seq bigint, ts timestamptz,"
        f" received_at timestamptz, {extra_cols}) ON COMMIT DELETE ROWS"
    )
    cols = _EVT_COLS if is_event else _TEL_COLS
    with raw.copy(f"COPY {tmp} ({cols}) FROM STDIN") as copy:
        if is_event:
            for (device_id, seq), (ts, event, data) in rows.items():
                copy.write_row((device_id, seq, ts, now, event, orjson.dumps(data).decode()))
        else:
            for (device_id, seq), (ts, values) in rows.items():
                copy.write_row((device_id, seq, ts, now, orjson.dumps(values).decode()))
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
    dumps = orjson.dumps
    if is_event:
        evt_rows = []
        for d, s in new:
            ts, event, data = rows[(d, s)]
            evt_rows.append((d, s, _sqlite_dt(ts), received, event, dumps(data).decode()))
        cur.executemany(
            f"INSERT OR IGNORE INTO {table} ({_EVT_COLS})"  # noqa: S608 - fixed table
            " VALUES (%s,%s,%s,%s,%s,%s)",
            evt_rows,
        )
    else:
        cur.executemany(
            f"INSERT OR IGNORE INTO {table} ({_TEL_COLS})"  # noqa: S608 - fixed table
            " VALUES (%s,%s,%s,%s,%s)",
            [(d, s, _sqlite_dt(rows[(d, s)][0]), received, dumps(rows[(d, s)][1]).decode()) for d, s in new],
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
