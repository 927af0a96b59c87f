"""Benchmark of device ingestion: MQTT publish → Mosquitto → ``linli gateway`` → stored rows + rules.

    .venv/bin/python bench/ingest.py [--messages 40000] [--devices 200] [--gateways 2]
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
3. ``bare_subscriber_msgs_per_s``: a paho QoS 1 subscriber that only counts (manual acks), fed by
   the same publishers: the MQTT client ceiling;
4. ``sustained_msgs_per_s``: ``--messages`` 3-point telemetry messages from 2 publisher processes
   (QoS 1, 200 in flight each) through ``--gateways`` ``linli gateway`` subprocesses (one on SQLite),
   first publish → last row stored, rules evaluated;
5. ``latency_p50_ms`` / ``latency_p99_ms``: a ``smoke_alarm`` event of a fresh detector published every
   50 ms with a 1,000 msg/s telemetry background, measured until its ``Alarm`` row exists
   (``latency_to``: "alarm"; "stored" when no alarm appears, e.g. the rule is disabled);
6. burst: 10× the 1,000 msg/s background offered for ``--burst-seconds`` (600 for the full 10-minute
   run), ``burst_peak_rss_mb`` (max over the gateways, VmHWM) and ``burst_drain_s`` (end of publishing →
   last row stored).

Progress goes to stdout; the last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import log, per_database

PG_DB = "linli_bench_ingest"
BATCH = 2000


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
    import socket

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
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc


# --- publisher / subscriber processes ------------------------------------------------------------


def _publisher(
    root: str,
    devices: list[tuple[str, str, str]],
    start_seq: int,
    count: int,
    rate: float,
    window: int,
    done_q,
) -> None:
    """Publish ``count`` signed telemetry messages round-robin over ``devices`` at ``rate`` (0 = max)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from linli.devices import canonical

    host, port = _broker()
    cond = threading.Condition()
    acked = [0]

    def on_publish(c, u, mid, rc, props):
        with cond:
            acked[0] += 1
            cond.notify()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(window)
    client.on_publish = on_publish
    client.connect(host, port)
    client.loop_start()
    t0 = time.monotonic()
    n_dev = len(devices)
    for i in range(count):
        code, key, secret = devices[i % n_dev]
        seq = start_seq + i // n_dev
        topic = f"{root}/{code}/{key}/telemetry"
        now_ms = int(time.time() * 1000)
        payload = canonical.encode(
            topic,
            {"seq": seq, "ts": now_ms, "values": {"smoke_density": 0.1, "temperature": 22.5, "battery": 90}},
            secret,
        )
        with cond:
            while i - acked[0] >= window:
                cond.wait(0.5)
        client.publish(topic, payload, qos=1)
        if rate:
            ahead = (i + 1) / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    with cond:
        while acked[0] < count:
            cond.wait(0.5)
    client.disconnect()
    client.loop_stop()
    done_q.put(time.monotonic() - t0)


def _bare_subscriber(root: str, expect: int, ready, result_q) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    host, port = _broker()
    state = {"n": 0, "first": None, "last": None}
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
        client_id=f"bench-sub-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv5,
        manual_ack=True,
    )
    client.on_message = on_message
    client.on_subscribe = lambda *a: ready.set()
    client.on_connect = lambda c, *a: c.subscribe(f"{root}/+/+/+", qos=1)
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)
    props.ReceiveMaximum = 10000  # as the gateway announces (the broker's default queue drops QoS 1)
    client.connect(host, port, properties=props)
    client.loop_start()
    last = -1
    while not done.wait(5) and state["n"] != last:  # give up after 5 s without a message
        last = state["n"]
    client.disconnect()
    client.loop_stop()
    result_q.put((state["n"], (state["last"] or time.monotonic()) - (state["first"] or time.monotonic())))


def _publish_parallel(root, devices, count, *, procs=2, rate=0.0, start_seq=1, window=200):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    per = count // procs
    share = [devices[i::procs] for i in range(procs)]
    ps = [
        ctx.Process(target=_publisher, args=(root, share[i], start_seq, per, rate / procs, window, q))
        for i in range(procs)
    ]
    for p in ps:
        p.start()
    return ps, q, per * procs


def parent(args: argparse.Namespace) -> dict:
    child_args: list[str] = []
    for name in ("messages", "devices", "gateways", "burst_seconds", "latency_probes"):
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


def _count() -> int:
    from linli.devices.models import Telemetry

    return Telemetry.objects.count()


def _wait_rows(target: int, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _count() >= target:
            return time.monotonic()
        time.sleep(0.05)
    return None


def _raw_rate(devices, n: int) -> float:
    """executemany of the same rows (2,000 per transaction), in a scratch copy of the table."""
    from datetime import UTC, datetime

    from django.db import connection, transaction

    from linli.devices.models import Device

    ids = list(Device.objects.filter(key__in=[d[1] for d in devices]).values_list("id", flat=True))
    now = datetime.now(UTC)
    values = json.dumps({"smoke_density": 0.1, "temperature": 22.5, "battery": 90})
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
            (
                topic,
                canonical.encode(
                    topic,
                    {
                        "seq": 20_000_000 + i,
                        "ts": now_ms,
                        "values": {"smoke_density": 0.1, "temperature": 22.5, "battery": 90},
                    },
                    secret,
                ),
            )
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


def _latency(root: str, probes, background_devices, n_probes: int) -> tuple[list[float], str]:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from linli.alarms.models import Alarm
    from linli.devices import canonical
    from linli.devices.models import Device, DeviceEvent

    ids = dict(Device.objects.filter(key__in=[p[1] for p in probes]).values_list("key", "id"))
    bg, _bg_q, _ = _publish_parallel(
        root, background_devices, 1000 * int(n_probes * 0.05 + 10), procs=1, rate=1000, start_seq=5_000_000
    )
    time.sleep(2)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(*_broker())
    client.loop_start()
    samples: list[float] = []
    target = "alarm"
    for i, (code, key, secret) in enumerate(probes[:n_probes]):
        topic = f"{root}/{code}/{key}/event"
        sent = time.time()
        payload = canonical.encode(
            topic,
            {"seq": 1, "ts": int(sent * 1000), "event": "smoke_alarm", "data": {"sent_at": sent}},
            secret,
        )
        t0 = time.perf_counter()
        client.publish(topic, payload, qos=1)
        model, lookup = (
            (Alarm, {"device_id": ids[key]}) if target == "alarm" else (DeviceEvent, {"device_id": ids[key]})
        )
        deadline = t0 + 3
        while time.perf_counter() < deadline and not model.objects.filter(**lookup).exists():
            time.sleep(0.001)
        else:
            pass
        if model.objects.filter(**lookup).exists():
            samples.append((time.perf_counter() - t0) * 1000)
        elif i == 0 and target == "alarm" and DeviceEvent.objects.filter(device_id=ids[key]).exists():
            target = "stored"  # no alarm rule fired: measure publish → stored instead
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    for p in bg:
        p.terminate()
    return samples, target


def child(args: argparse.Namespace) -> None:
    devices, probes = _setup(args.devices, args.latency_probes)
    from django.db import connection

    db = connection.vendor
    result: dict = {"db": db, "devices": args.devices, "messages": args.messages}
    n_gw = args.gateways if db == "postgresql" else 1
    result["gateways"] = n_gw

    log(f"{db}: raw executemany of {args.messages} rows")
    result["db_raw_rows_per_s"] = round(_raw_rate(devices, args.messages))
    log(f"{db}: ingest() in-process, {args.messages} messages")
    result["ingest_direct_msgs_per_s"] = round(_ingest_direct(devices, args.messages))

    root = f"linli-bench/{uuid.uuid4().hex[:8]}/v1"
    os.environ["LINLI_MQTT_TOPIC_ROOT"] = root
    log(f"{db}: bare paho QoS 1 subscriber")
    ctx = mp.get_context("spawn")
    ready, rq = ctx.Event(), ctx.Queue()
    sub = ctx.Process(target=_bare_subscriber, args=(root.replace("/v1", "/bare"), args.messages, ready, rq))
    sub.start()
    ready.wait(20)
    ps, _q, total = _publish_parallel(root.replace("/v1", "/bare"), devices, args.messages)
    n, secs = rq.get(timeout=300)
    for p in ps:
        p.join(60)
    sub.join(10)
    result["bare_subscriber_msgs_per_s"] = round(n / secs) if secs > 0 else None

    log(f"{db}: {n_gw} gateway(s), {args.messages} messages through MQTT")
    gws = _start_gateways(n_gw, root)
    try:
        base = _count()
        t0 = time.monotonic()
        ps, _q, total = _publish_parallel(root, devices, args.messages, start_seq=1)
        end = _wait_rows(base + total, 300)
        for p in ps:
            p.join(60)
        result["sustained_msgs_per_s"] = round(total / (end - t0)) if end else None
        result["sustained_stored"] = _count() - base

        log(f"{db}: latency under a 1,000 msg/s background ({args.latency_probes} probes)")
        samples, target = _latency(root, probes, devices, args.latency_probes)
        result["latency_to"] = target
        result["latency_samples"] = len(samples)
        if samples:
            samples.sort()
            result["latency_p50_ms"] = round(statistics.median(samples), 1)
            result["latency_p99_ms"] = round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 1)

        log(f"{db}: burst 10x (10,000 msg/s offered) for {args.burst_seconds}s")
        base = _count()
        count = 10_000 * args.burst_seconds
        t0 = time.monotonic()
        ps, _q, total = _publish_parallel(root, devices, count, procs=2, rate=10_000, start_seq=1_000_000)
        peak = 0.0
        while any(p.is_alive() for p in ps):
            peak = max(peak, *(_gateway_rss(g.pid) for g in gws))
            time.sleep(0.5)
        publish_end = time.monotonic()
        end = _wait_rows(base + total, 600)
        peak = max(peak, *(_gateway_rss(g.pid) for g in gws))
        result["burst_offered_msgs_per_s"] = 10_000
        result["burst_published_msgs_per_s"] = round(total / (publish_end - t0))
        result["burst_peak_rss_mb"] = round(peak, 1)
        result["burst_drain_s"] = round(end - publish_end, 1) if end else None
        result["burst_stored"] = _count() - base
    finally:
        _stop(gws)
    Path(args.out).write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--gateways", type=int, default=2)
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
