"""Benchmark of device ingestion: MQTT publish → Mosquitto → ``linli gateway`` → stored rows + rules.

    .venv/bin/python bench/ingest.py [--messages 40000] [--devices 200] [--gateways N]
                                     [--burst-seconds 20] [--only sqlite|postgresql]

Starts its own Mosquitto on a free port with the queue limits of ``deploy/mosquitto`` (or uses
``LINLI_BENCH_MQTT``, host:port, e.g. 127.0.0.1:1883). For each database
(SQLite in a temporary file; PostgreSQL at ``LINLI_BENCH_PG_URL``, default
postgres://postgres@127.0.0.1:5432/test, in the database ``linli_bench_ingest`` created and dropped
here) a child process migrates a fresh database, registers ``--devices`` smoke detectors and measures,
in the same run and on the same machine:

1. ``db_raw_rows_per_s``: the same telemetry rows written straight with executemany (2,000 per
   transaction, no validation): the database's ceiling for this table;
2. ``ingest_direct_msgs_per_s``: ``linli.devices.ingest.ingest`` called in-process with 2,000 signed
   payloads per call (decode, verify, validate, store, rules): the ceiling of the code without MQTT;
3. ``bare_subscriber_msgs_per_s``: a QoS 1 subscriber that only counts and acknowledges, on the
   gateway's own MQTT client (``linli.devices.mqtt.gateway.MqttSubscriber``), fed by the same
   publishers: the MQTT ceiling of one gateway process; ``bare_paho_subscriber_msgs_per_s`` is the
   same with paho-mqtt, for reference;
4. ``sustained_msgs_per_s``: ``--messages`` 3-point telemetry messages from ``--publishers`` processes
   (QoS 1, 200 in flight each) through ``--gateways`` ``linli gateway`` subprocesses (default: one
   per core on PostgreSQL, one on SQLite), first publish → last row stored, rules evaluated, after a
   warm-up round (every gateway has seen every device: steady state, not process start-up);
5. ``latency_p50_ms`` / ``latency_p99_ms``: a ``smoke_alarm`` event of a fresh detector published every
   50 ms with a 1,000 msg/s telemetry background, measured until its ``Alarm`` row exists
   (``latency_to``: "alarm"; "stored" when no alarm appears, e.g. the rule is disabled);
6. burst: 10× the 1,000 msg/s background offered for ``--burst-seconds`` (600 for the full 10-minute
   run), ``burst_peak_rss_mb`` (max over the gateways, VmHWM), ``burst_drain_s`` (end of publishing →
   last row stored) and ``burst_max_backlog`` (published − stored, sampled every second).

CPU per message (``cpu_us_per_msg``, from /proc) of the sustained phase: the gateways, the
publishers, the broker (when it is the bench's own) and the PostgreSQL backends of the bench
database — the figure to compare runs on a shared machine, where msg/s depends on what else runs.

The publishers are the load generator, not the system under test: raw MQTT 5 QoS 1 PUBLISH frames over
a socket with a bounded window of unacknowledged messages, payloads signed with each device's secret
in the canonical format before the clock starts (sustained phase) or as they go (latency background,
burst). paho-mqtt would cost ~130 µs of CPU per message on the same cores as the system under test.

Progress goes to stdout; the last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import log, per_database

PG_DB = "linli_bench_ingest"
BATCH = 2000
WINDOW = 200  # unacknowledged QoS 1 messages per publisher
TICK = os.sysconf("SC_CLK_TCK")
VALUES = {"smoke_density": 0.1, "temperature": 22.5, "battery": 90}


def _broker() -> tuple[str, int]:
    host, _, port = os.environ.get("LINLI_BENCH_MQTT", "127.0.0.1:1883").partition(":")
    return host, int(port or 1883)


def _private_mosquitto(tmp: Path) -> subprocess.Popen:
    """A Mosquitto on a free port with the queue limits of deploy/mosquitto/mosquitto.conf.

    The machine's own broker keeps Mosquitto's default max_queued_messages (1,000), which drops QoS 1
    messages as soon as a burst outruns the gateways: that is the broker's configuration, not Linli's.
    """
    import getpass
    import shutil

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf = tmp / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\n"
        f"max_queued_bytes 536870912\nmax_inflight_messages 1000\nmax_packet_size 9216\n"
        f"user {getpass.getuser()}\nlog_type error\n"
    )
    proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)])
    os.environ["LINLI_BENCH_MQTT"] = f"127.0.0.1:{port}"
    os.environ["LINLI_BENCH_MQTT_PID"] = str(proc.pid)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc


def _cpu(pid: int) -> float:
    """user + system CPU seconds of a process (all its threads), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


# --- the load generator ---------------------------------------------------------------------------


class Signer:
    """Canonical telemetry payloads of one device, signed as ``linli.devices.canonical.encode`` does
    (checked against it at start), from a template: ~3 µs instead of ~12 µs per message."""

    def __init__(self, topic: str, secret: str) -> None:
        self.topic = topic
        self.topic_b = topic.encode()
        self._keyed = hmac.new(secret.encode(), self.topic_b + b"\n", hashlib.sha256)
        values = json.dumps(VALUES, separators=(",", ":"))
        sorted_values = json.dumps(VALUES, sort_keys=True, separators=(",", ":"))
        self._signed = '{"seq":%d,"ts":%d,"values":' + sorted_values + "}"
        self._payload = '{"seq":%d,"ts":%d,"values":' + values + ',"sig":"%s"}'

    def payload(self, seq: int, ts_ms: int) -> bytes:
        h = self._keyed.copy()
        h.update((self._signed % (seq, ts_ms)).encode())
        return (self._payload % (seq, ts_ms, h.hexdigest())).encode()


def _check_signer(root: str, device: tuple[str, str, str]) -> None:
    from linli.devices import canonical

    code, key, secret = device
    topic = f"{root}/{code}/{key}/telemetry"
    ours = Signer(topic, secret).payload(7, 1_700_000_000_000)
    reference = canonical.encode(topic, {"seq": 7, "ts": 1_700_000_000_000, "values": VALUES}, secret)
    assert ours == reference, (ours, reference)


def _connect(client_id: str) -> socket.socket:
    from linli.devices.mqtt.gateway import connect_packet, parse_connack, read_packet

    sock = socket.create_connection(_broker(), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(connect_packet(client_id, keepalive=60, clean_start=True))
    connack = parse_connack(*read_packet(sock))
    assert connack.reason_code == 0, connack
    sock.settimeout(None)
    return sock


def _publisher(
    root: str,
    devices: list[tuple[str, str, str]],
    start_seq: int,
    count: int,
    rate: float,
    window: int,
    ready,
    go,
    done_q,
    pregenerate: bool,
    progress=None,
) -> None:
    """Publish ``count`` signed telemetry messages round-robin over ``devices`` at ``rate`` (0 = max),
    QoS 1, at most ``window`` unacknowledged; PUBLISH frames written in bursts, PUBACKs read in bulk."""
    from linli.devices.mqtt.gateway import publish_packet

    signers = [Signer(f"{root}/{code}/{key}/telemetry", secret) for code, key, secret in devices]
    n_dev = len(signers)
    ts_ms = int(time.time() * 1000)

    def frame(i: int, packet_id: int) -> bytes:
        s = signers[i % n_dev]
        return publish_packet(
            s.topic_b, s.payload(start_seq + i // n_dev, int(time.time() * 1000)), packet_id
        )

    payloads = None
    if pregenerate:  # sustained phase: signing is not part of what is measured
        payloads = [
            (signers[i % n_dev].topic_b, signers[i % n_dev].payload(start_seq + i // n_dev, ts_ms))
            for i in range(count)
        ]
    sock = _connect(f"bench-pub-{uuid.uuid4().hex[:8]}")
    ready.put(os.getpid())
    go.wait()
    t0 = time.monotonic()
    sent = acked = 0
    packet_id = 0
    buf = b""
    while acked < count:
        room = min(window - (sent - acked), count - sent)
        if rate:
            room = min(room, int((time.monotonic() - t0) * rate) + 1 - sent)
        if room > 0:
            frames = []
            for _ in range(room):
                packet_id = packet_id % 65535 + 1
                if payloads is not None:
                    topic_b, payload = payloads[sent]
                    frames.append(publish_packet(topic_b, payload, packet_id))
                else:
                    frames.append(frame(sent, packet_id))
                sent += 1
            sock.sendall(b"".join(frames))
        if sent - acked >= window or sent >= count:
            data = sock.recv(65536)  # window full or all sent: wait for acknowledgements
        elif not rate:
            try:
                data = sock.recv(65536, socket.MSG_DONTWAIT)  # only the acks already there
            except BlockingIOError:
                continue
        else:
            wait = (sent + 1) / rate - (time.monotonic() - t0)
            if wait > 0 and not select.select([sock], [], [], wait)[0]:
                continue
            try:
                data = sock.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
        if not data:
            raise ConnectionError("broker closed the publisher's connection")
        buf += data
        pos, n = 0, len(buf)
        while n - pos >= 2 and pos + 2 + buf[pos + 1] <= n:  # PUBACKs are short: 1-byte length
            if buf[pos] >> 4 == 4:
                acked += 1
            pos += 2 + buf[pos + 1]
        buf = buf[pos:]
        if progress is not None:
            progress.value = acked
    sock.close()
    done_q.put(time.monotonic() - t0)


class Load:
    """Publisher processes started, ready (connected, payloads signed) and released together."""

    def __init__(self, root, devices, count, *, procs=2, rate=0.0, start_seq=1, pregenerate=False):
        ctx = mp.get_context("spawn")
        self.done = ctx.Queue()
        ready, self.go = ctx.Queue(), ctx.Event()
        per = count // procs
        self.total = per * procs
        self.progress = [ctx.RawValue("q", 0) for _ in range(procs)]
        self.procs = [
            ctx.Process(
                target=_publisher,
                args=(
                    root,
                    devices[i::procs],
                    start_seq,
                    per,
                    rate / procs,
                    WINDOW,
                    ready,
                    self.go,
                    self.done,
                ),
                kwargs={"pregenerate": pregenerate, "progress": self.progress[i]},
                daemon=True,
            )
            for i in range(procs)
        ]
        for p in self.procs:
            p.start()
        self.pids = [ready.get(timeout=300) for _ in self.procs]
        self.cpu0 = {pid: _cpu(pid) for pid in self.pids}
        self.cpu: dict[int, float] = {}

    def start(self) -> float:
        self.go.set()
        return time.monotonic()

    def sample_cpu(self) -> None:
        for pid in self.pids:
            c = _cpu(pid)
            if c:
                self.cpu[pid] = c - self.cpu0[pid]

    def published(self) -> int:
        """Messages the broker has acknowledged so far."""
        return sum(v.value for v in self.progress)

    def alive(self) -> bool:
        return any(p.is_alive() for p in self.procs)

    def join(self, timeout: float = 60) -> None:
        for p in self.procs:
            p.join(timeout)

    def stop(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.terminate()


# --- bare subscribers (the MQTT ceilings) ---------------------------------------------------------


def _bare_subscriber(root: str, expect: int, ready, result_q) -> None:
    """The gateway's MQTT client, counting and acknowledging each chunk at once (no storage)."""
    from linli.devices.mqtt import config
    from linli.devices.mqtt.gateway import MqttSubscriber

    state: dict[str, Any] = {"n": 0, "first": None, "last": None}
    done = threading.Event()
    holder: list[MqttSubscriber] = []

    def deliver(messages: list) -> None:
        if state["first"] is None:
            state["first"] = time.monotonic()
        state["n"] += len(messages)
        holder[0].ack_many([(g, m) for g, m, q, _t, _p in messages if q])
        if state["n"] >= expect:
            state["last"] = time.monotonic()
            done.set()

    host, port = _broker()
    sub = MqttSubscriber(
        broker=config.BrokerAddress(host, port),
        client_id=f"bench-sub-{uuid.uuid4().hex[:8]}",
        subscription=f"{root}/+/+/+",
        deliver=deliver,
        session_expiry=0,
        receive_maximum=10000,
        on_subscribed=ready.set,
    )
    holder.append(sub)
    threading.Thread(target=sub.run, daemon=True).start()
    _await_count(state, done)
    sub.disconnect()
    result_q.put((state["n"], (state["last"] or time.monotonic()) - (state["first"] or time.monotonic())))


def _bare_paho_subscriber(root: str, expect: int, ready, result_q) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    state: dict[str, Any] = {"n": 0, "first": None, "last": None}
    done = threading.Event()

    def on_message(c, u, m):
        if state["first"] is None:
            state["first"] = time.monotonic()
        state["n"] += 1
        c.ack(m.mid, m.qos)
        if state["n"] >= expect:
            state["last"] = time.monotonic()
            done.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-paho-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv5,
        manual_ack=True,
    )
    client.on_message = on_message
    client.on_subscribe = lambda *a: ready.set()
    client.on_connect = lambda c, *a: c.subscribe(f"{root}/+/+/+", qos=1)
    props = Properties(PacketTypes.CONNECT)
    props.ReceiveMaximum = 10000  # as the gateway announces (the broker's default queue drops QoS 1)
    client.connect(*_broker(), properties=props)
    client.loop_start()
    _await_count(state, done)
    client.disconnect()
    client.loop_stop()
    result_q.put((state["n"], (state["last"] or time.monotonic()) - (state["first"] or time.monotonic())))


def _await_count(state: dict, done: threading.Event) -> None:
    last = -1
    while not done.wait(5) and state["n"] != last:  # give up after 5 s without a message
        last = state["n"]


def _bare(target, root: str, devices, n: int) -> float | None:
    ctx = mp.get_context("spawn")
    ready, rq = ctx.Event(), ctx.Queue()
    sub = ctx.Process(target=target, args=(root, n, ready, rq), daemon=True)
    sub.start()
    ready.wait(20)
    load = Load(root, devices, n, pregenerate=True)
    load.start()
    got, secs = rq.get(timeout=600)
    load.join()
    sub.join(10)
    return round(got / secs) if secs > 0 and got >= load.total else None


def parent(args: argparse.Namespace) -> dict:
    child_args: list[str] = []
    for name in ("messages", "devices", "gateways", "publishers", "burst_seconds", "latency_probes"):
        child_args += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    return per_database(
        Path(__file__),
        child_args,
        only=args.only,
        pg_db=PG_DB,
        extra_env={"LINLI_LOG_LEVEL": "WARNING"},
        order=("postgresql", "sqlite"),
    )


# --- child: the measurements on one database -----------------------------------------------------


def _setup(n_devices: int, n_probes: int):
    import secrets as pysecrets

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from linli.devices.models import Device, DeviceProfile
    from linli.places import services as places
    from linli.places.models import RegionLevel

    parent = None
    for level, name, code in [
        (RegionLevel.PROVINCE, "山西省", "140000"),
        (RegionLevel.CITY, "太原市", "140100"),
        (RegionLevel.DISTRICT, "小店区", "140105"),
        (RegionLevel.STREET, "坞城街道", "140105002"),
        (RegionLevel.COMMUNITY, "学府社区", "140105002001"),
    ]:
        parent = places.region_create(level=level, name=name, parent=parent, code=code)
    estate = places.region_create(level=RegionLevel.ESTATE, name="基准花园", parent=parent, code="BENCH")
    profile = DeviceProfile.objects.get(key="smoke")

    def make(prefix, n):
        rows = [
            Device(
                estate=estate,
                profile=profile,
                key=f"{prefix}-{i}",
                name=f"{prefix}{i}",
                path=estate.path,
                secret=pysecrets.token_urlsafe(24),
            )
            for i in range(n)
        ]
        Device.objects.bulk_create(rows)
        return [(estate.code, d.key, d.secret) for d in rows]

    return make("bench", n_devices), make("probe", n_probes)


def _stored() -> int:
    """Telemetry rows stored for the bench devices: the sum of their accepted counters, updated in
    the same transaction as the rows (a COUNT(*) over the growing table would load the database)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT COALESCE(SUM(accepted_count), 0) FROM devices_device WHERE key LIKE %s", ["bench-%"]
        )
        return int(cur.fetchone()[0])


def _count() -> int:
    from linli.devices.models import Telemetry

    return Telemetry.objects.count()


def _wait_stored(target: int, timeout: float, load: Load | None = None) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if load is not None:
            load.sample_cpu()
        if _stored() >= target:
            return time.monotonic()
        time.sleep(0.02)
    return None


def _raw_rate(devices, n: int) -> float:
    """executemany of the same rows (2,000 per transaction), in a scratch copy of the table."""
    from datetime import UTC, datetime

    from django.db import connection, transaction

    from linli.devices.models import Device

    ids = list(Device.objects.filter(key__in=[d[1] for d in devices]).values_list("id", flat=True))
    now = datetime.now(UTC)
    values = json.dumps(VALUES)
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE bench_raw AS SELECT * FROM devices_telemetry WHERE 1 = 0")
        cur.execute("CREATE UNIQUE INDEX bench_raw_uq ON bench_raw (device_id, seq)")
        cur.execute("CREATE INDEX bench_raw_ts ON bench_raw (device_id, ts)")
    sql = (
        'INSERT INTO bench_raw (id, device_id, seq, ts, received_at, "values") '
        "VALUES (%s, %s, %s, %s, %s, %s)"
    )
    t0 = time.perf_counter()
    for start in range(0, n, BATCH):
        rows = []
        for i in range(start, min(n, start + BATCH)):
            ts = now if pg else now.isoformat()
            rows.append((i + 1, ids[i % len(ids)], 10_000_000 + i, ts, ts, values))
        with transaction.atomic(), connection.cursor() as cur:
            cur.executemany(sql, rows)
    rate = n / (time.perf_counter() - t0)
    with connection.cursor() as cur:
        cur.execute("DROP TABLE bench_raw")
    return rate


def _ingest_direct(devices, n: int) -> float:
    from linli.devices import canonical
    from linli.devices.ingest import ingest

    root = canonical.topic_root()
    now_ms = int(time.time() * 1000)
    raw = []
    for i in range(n):
        code, key, secret = devices[i % len(devices)]
        topic = f"{root}/{code}/{key}/telemetry"
        raw.append(
            (topic, canonical.encode(topic, {"seq": 20_000_000 + i, "ts": now_ms, "values": VALUES}, secret))
        )
    t0 = time.perf_counter()
    stored = 0
    for start in range(0, n, BATCH):
        stored += ingest(raw[start : start + BATCH], via="mqtt").stored
    rate = n / (time.perf_counter() - t0)
    assert stored == n, f"ingest stored {stored} of {n}"
    return rate


def _gateway_rss(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _start_gateways(n: int, root: str) -> list[subprocess.Popen]:
    env = {**os.environ, "LINLI_MQTT_TOPIC_ROOT": root, "LINLI_MQTT_URL": "mqtt://{}:{}".format(*_broker())}
    procs = []
    for i in range(n):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "linli",
                    "gateway",
                    "--id",
                    f"bench-{root.split('/')[1]}-{i}",
                    "--stats-every",
                    "0",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    for p in procs:
        for line in p.stdout:  # type: ignore[union-attr]
            if "subscribed" in line:
                break
    for p in procs:  # keep draining their output so they never block on a full pipe
        threading.Thread(target=lambda s=p.stdout: [None for _ in s], daemon=True).start()
    return procs


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()


def _pg_backends() -> list[int]:
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [r[0] for r in cur.fetchall()]


def _latency(root: str, probes, background_devices, n_probes: int) -> tuple[list[float], str]:
    from django.db import connection

    from linli.devices import canonical
    from linli.devices.models import Device
    from linli.devices.mqtt.gateway import publish_packet

    ids = dict(Device.objects.filter(key__in=[p[1] for p in probes]).values_list("key", "id"))
    background = Load(
        root, background_devices, 1000 * int(n_probes * 0.05 + 10), procs=1, rate=1000, start_seq=5_000_000
    )
    background.start()
    time.sleep(2)
    sock = _connect(f"bench-probe-{uuid.uuid4().hex[:8]}")
    samples: list[float] = []
    target = "alarm"
    alarm_sql = "SELECT 1 FROM alarms_alarm WHERE device_id = %s LIMIT 1"
    event_sql = "SELECT 1 FROM devices_deviceevent WHERE device_id = %s LIMIT 1"
    with connection.cursor() as cur:
        for i, (code, key, secret) in enumerate(probes[:n_probes]):
            topic = f"{root}/{code}/{key}/event"
            sent = time.time()
            payload = canonical.encode(
                topic,
                {"seq": 1, "ts": int(sent * 1000), "event": "smoke_alarm", "data": {"sent_at": sent}},
                secret,
            )
            frame = publish_packet(topic.encode(), payload, i % 65535 + 1)
            sql = alarm_sql if target == "alarm" else event_sql
            t0 = time.perf_counter()
            sock.sendall(frame)
            deadline = t0 + 3
            found = False
            while time.perf_counter() < deadline:
                cur.execute(sql, [ids[key]])
                if cur.fetchone():
                    found = True
                    break
                time.sleep(0.001)
            if found:
                samples.append((time.perf_counter() - t0) * 1000)
            elif i == 0 and target == "alarm":
                cur.execute(event_sql, [ids[key]])
                if cur.fetchone():
                    target = "stored"  # no alarm rule fired: measure publish → stored instead
            time.sleep(0.05)
    sock.close()  # (its PUBACKs were never read: the broker has them all by now)
    background.stop()
    return samples, target


def child(args: argparse.Namespace) -> None:
    devices, probes = _setup(args.devices, args.latency_probes)
    from django.db import connection

    db = connection.vendor
    result: dict = {"db": db, "devices": args.devices, "messages": args.messages}
    n_gw = (args.gateways or os.cpu_count() or 1) if db == "postgresql" else 1
    result["gateways"] = n_gw
    result["publishers"] = args.publishers
    result["cores"] = os.cpu_count()

    log(f"{db}: raw executemany of {args.messages} rows")
    result["db_raw_rows_per_s"] = round(_raw_rate(devices, args.messages))
    log(f"{db}: ingest() in-process, {args.messages} messages")
    result["ingest_direct_msgs_per_s"] = round(_ingest_direct(devices, args.messages))

    run = uuid.uuid4().hex[:8]
    root = f"linli-bench/{run}/v1"
    os.environ["LINLI_MQTT_TOPIC_ROOT"] = root
    _check_signer(root, devices[0])
    log(f"{db}: bare QoS 1 subscribers (the gateway's MQTT client, then paho)")
    result["bare_subscriber_msgs_per_s"] = _bare(
        _bare_subscriber, f"linli-bench/{run}/bare", devices, args.messages
    )
    result["bare_paho_subscriber_msgs_per_s"] = _bare(
        _bare_paho_subscriber, f"linli-bench/{run}/paho", devices, args.messages
    )

    log(f"{db}: {n_gw} gateway(s), {args.messages} messages through MQTT")
    gws = _start_gateways(n_gw, root)
    try:
        base = _stored()
        warm = Load(root, devices, 10 * len(devices), procs=1, start_seq=1)
        warm.start()
        _wait_stored(base + warm.total, 120)
        warm.join()

        base = _stored()
        load = Load(root, devices, args.messages, procs=args.publishers, start_seq=1_000, pregenerate=True)
        backends = _pg_backends()
        cpu0: dict[str, Any] = {"gw": [_cpu(g.pid) for g in gws], "pg": {p: _cpu(p) for p in backends}}
        broker_pid = int(os.environ.get("LINLI_BENCH_MQTT_PID") or 0)
        cpu0["mqtt"] = _cpu(broker_pid) if broker_pid else 0.0
        t0 = load.start()
        end = _wait_stored(base + load.total, 300, load)
        load.join()
        load.sample_cpu()
        total = load.total
        result["sustained_msgs_per_s"] = round(total / (end - t0)) if end else None
        result["sustained_stored"] = _stored() - base
        per = 1e6 / total
        result["cpu_us_per_msg"] = {
            "gateways": round(per * sum(_cpu(g.pid) - c for g, c in zip(gws, cpu0["gw"], strict=True)), 1),
            "publishers": round(per * sum(load.cpu.values()), 1),
            "broker": round(per * (_cpu(broker_pid) - cpu0["mqtt"]), 1) if broker_pid else None,
            "postgresql": round(per * sum(_cpu(p) - c for p, c in cpu0["pg"].items()), 1)
            if db == "postgresql"
            else None,
        }

        log(f"{db}: latency under a 1,000 msg/s background ({args.latency_probes} probes)")
        samples, target = _latency(root, probes, devices, args.latency_probes)
        result["latency_to"] = target
        result["latency_samples"] = len(samples)
        if samples:
            samples.sort()
            result["latency_p50_ms"] = round(statistics.median(samples), 1)
            result["latency_p99_ms"] = round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 1)

        log(f"{db}: burst 10x (10,000 msg/s offered) for {args.burst_seconds}s")
        time.sleep(1)
        base = _stored()
        burst = Load(root, devices, 10_000 * args.burst_seconds, procs=2, rate=10_000, start_seq=10_000_000)
        t0 = burst.start()
        peak, backlog, next_sample = 0.0, 0, 0.0
        while burst.alive():
            peak = max(peak, *(_gateway_rss(g.pid) for g in gws))
            if time.monotonic() >= next_sample:
                stored = _stored() - base  # first: published − stored is then an upper bound
                backlog = max(backlog, burst.published() - stored)
                next_sample = time.monotonic() + 1.0
            time.sleep(0.25)
        publish_end = time.monotonic()
        end = _wait_stored(base + burst.total, 900)
        peak = max(peak, *(_gateway_rss(g.pid) for g in gws))
        result["burst_seconds"] = args.burst_seconds
        result["burst_offered_msgs_per_s"] = 10_000
        result["burst_published_msgs_per_s"] = round(burst.total / (publish_end - t0))
        result["burst_peak_rss_mb"] = round(peak, 1)
        result["burst_max_backlog"] = backlog
        result["burst_drain_s"] = round(end - publish_end, 1) if end else None
        result["burst_stored"] = _stored() - base
    finally:
        _stop(gws)
    result["telemetry_rows"] = _count()
    Path(args.out).write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--gateways", type=int, default=0, help="0 = one per core on PostgreSQL")
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--burst-seconds", type=int, default=20)
    parser.add_argument("--latency-probes", type=int, default=200)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--child")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    started = time.monotonic()
    broker = None
    if "LINLI_BENCH_MQTT" not in os.environ:
        broker_dir = Path(tempfile.mkdtemp(prefix="linli-bench-mqtt-"))
        broker = _private_mosquitto(broker_dir)
        log(f"private Mosquitto on {os.environ['LINLI_BENCH_MQTT']} (queue limits as deploy/mosquitto)")
    try:
        results = parent(args)
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(10)
    results["total_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(results, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
