"""Benchmark of the access decision API: signed gate requests carrying fresh 一码通 QR codes.

    .venv/bin/python bench/access_decision.py [--rate 200] [--seconds 20] [--residents 5000] [--only sqlite]

For each database (SQLite in a temporary file; PostgreSQL at ``LINLI_BENCH_PG_URL``, default
postgres://postgres@127.0.0.1:5432/test, in its own database ``linli_bench_access`` created and dropped
here) a child process migrates a fresh database and seeds one estate: ``--residents`` residents in
rooms of 10 buildings, each with an active 一码通 credential, two estate gates and one unit door per
building (QR, card, PIN and staff-assisted entry; no face), the residents' policy, and one gate device
with its HMAC secret. It then starts a real ``linli web`` (gunicorn, gthread, 2 workers × 4 threads)
on a free port and measures:

(a) the bare costs, in the same process and run: one Ed25519 signature verification with
    ``cryptography`` (µs), the whole offline check ``qr.verify`` (parse + key + signature + time), and
    the HTTP floor: sequential keep-alive ``GET /static/linli/app.css`` on the same server;
(b) the paced phase: ``POST /api/v1/access/device/decisions`` at a fixed offered rate (``--rate``
    requests/s, open loop: requests are scheduled every 1/rate s whatever the answers do, sent by a
    pool of keep-alive connections; latency is measured from the *scheduled* time, so queueing
    behind a slow answer counts) for ``--seconds``; each request carries a QR code never used before
    (a resident always at the same access point — their own door or a gate — as in real life), signed
    like a gate signs (X-Linli-Device / -Timestamp / -Signature). Every answer must be 200 and allow;
(c) the maximum: the same requests closed loop over ``--connections`` keep-alive connections for
    ``--max-seconds``.

Codes and signed request bodies are prepared before each phase (preparation is not measured), so the
load generator's own CPU is only HTTP. The machine has 2 cores shared by the server, the database and
this client: read the figures as what one small box does, not as the server's limit.

Progress goes to stdout; the last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO, log, per_database

PG_DB = "linli_bench_access"
DECIDE_PATH = "/api/v1/access/device/decisions"
BUILDINGS = 10


def parent(args: argparse.Namespace) -> dict:
    child_args = [
        "--rate",
        str(args.rate),
        "--seconds",
        str(args.seconds),
        "--residents",
        str(args.residents),
        "--connections",
        str(args.connections),
        "--max-seconds",
        str(args.max_seconds),
    ]
    return per_database(Path(__file__), child_args, only=args.only, pg_db=PG_DB)


# --- child: seed ----------------------------------------------------------------------------------


def _seed(n_residents: int) -> dict:
    from decimal import Decimal

    from django.db import transaction

    from linli.access.credentials import keys, qr
    from linli.access.models import AccessPoint, AccessPointKind, AccessPolicy, Audience, Credential
    from linli.accounts.models import User
    from linli.devices import services as devices
    from linli.devices.models import DeviceProfile
    from linli.orgs.models import Membership, Organization, OrgKind
    from linli.orgs.roles import Role
    from linli.orgs.selectors import actor_for_user
    from linli.people.models import Occupancy, Person
    from linli.places import services as places
    from linli.places.models import RegionLevel, Room

    region = None
    for level, name, code in [
        (RegionLevel.PROVINCE, "山西省", "140000"),
        (RegionLevel.CITY, "太原市", "140100"),
        (RegionLevel.DISTRICT, "小店区", "140105"),
        (RegionLevel.STREET, "坞城街道", "140105002"),
        (RegionLevel.COMMUNITY, "学府社区", "140105002001"),
    ]:
        region = places.region_create(level=level, name=name, parent=region, code=code)
    estate = places.region_create(level=RegionLevel.ESTATE, name="基准花园", parent=region, code="BENCH")
    org = Organization.objects.create(kind=OrgKind.PROPERTY_COMPANY, name="基准物业")
    admin = User.objects.create(username="bench_admin", display_name="基准管理员")
    Membership.objects.create(user=admin, organization=org, role=Role.PROPERTY_ADMIN).scope.set([estate])
    actor = actor_for_user(admin)
    ancestors = estate.ancestors(include_self=True)
    per_building = -(-n_residents // BUILDINGS)
    with transaction.atomic():
        buildings, rooms = [], []
        for b in range(1, BUILDINGS + 1):
            building = places.region_create(level=RegionLevel.BUILDING, name=f"{b}号楼", parent=estate)
            unit = places.region_create(level=RegionLevel.UNIT, name="1单元", parent=building)
            buildings.append(building)
            for k in range(per_building):
                rooms.append(
                    places.room_build(
                        estate=estate,
                        building=building,
                        unit=unit,
                        floor=k // 8 + 1,
                        number=f"{k // 8 + 1}{k % 8 + 1:02d}",
                        area=Decimal("90.00"),
                        ancestors=ancestors,
                    )
                )
        Room.objects.bulk_create(rooms, batch_size=1000)
        rooms = list(Room.objects.filter(estate=estate).order_by("pk"))
        persons = Person.objects.bulk_create(
            [Person(estate=estate, name=f"住户{i:05d}") for i in range(n_residents)], batch_size=1000
        )
        Occupancy.objects.bulk_create(
            [
                Occupancy(estate=estate, person=p, room=rooms[i], relation="owner", start_date="2020-01-01")
                for i, p in enumerate(persons)
            ],
            batch_size=1000,
        )
        Credential.objects.bulk_create(
            [
                Credential(estate=estate, person=p, kind="qr", token=qr.new_subject_token(), path=estate.path)
                for p in persons
            ],
            batch_size=1000,
        )
        AccessPolicy.objects.create(estate=estate, name="住户通行", audience=Audience.RESIDENTS)
    creds = devices.device_create(
        actor=actor, estate=estate, profile=DeviceProfile.objects.get(key="generic"), name="大门闸机"
    )
    methods = ["qr", "card", "pin", "staff"]
    door = 0
    gates = []
    for name in ("东门", "南门"):
        door += 1
        gates.append(
            AccessPoint.objects.create(
                estate=estate,
                kind=AccessPointKind.PEDESTRIAN_GATE,
                name=name,
                code=f"gate-{door}",
                allowed_methods=methods,
                device=creds.device,
                door_no=door,
            )
        )
    unit_doors = {}
    for b in buildings:
        door += 1
        unit_doors[b.pk] = AccessPoint.objects.create(
            estate=estate,
            building=b,
            kind=AccessPointKind.UNIT_DOOR,
            name=f"{b.name}单元门",
            code=f"unit-{b.pk}",
            allowed_methods=methods,
            device=creds.device,
            door_no=door,
        )
    # Each resident always uses the same door: their unit door or one of the gates.
    subjects = []
    tokens = dict(Credential.objects.filter(estate=estate).values_list("person_id", "token"))
    building_of = dict(Occupancy.objects.filter(estate=estate).values_list("person_id", "room__building_id"))
    for i, p in enumerate(persons):
        point = unit_doors[building_of[p.pk]] if i % 3 == 0 else gates[i % 2]
        subjects.append((tokens[p.pk], point.door_no))
    key_row = keys.active_key(estate.pk)
    return {
        "estate_id": estate.pk,
        "device_key": creds.device.key,
        "device_secret": creds.secret,
        "kid": key_row.kid,
        "private_key": key_row.private_key,
        "subjects": subjects,
        "points": len(gates) + len(unit_doors),
    }


# --- child: bare costs ----------------------------------------------------------------------------


def _bare_costs(world: dict, n: int = 5000) -> dict:
    from linli.access.credentials import qr

    key = qr.load_private_key(world["private_key"])
    public = key.public_key()
    now = int(time.time())
    text = qr.sign(
        kid=world["kid"],
        key=key,
        kind="R",
        subject=world["subjects"][0][0],
        issued_at=now,
        expires_at=now + 600,
    )
    code = qr.parse(text)
    started = time.perf_counter()
    for _ in range(n):
        public.verify(code.signature, code.signed)
    verify_us = (time.perf_counter() - started) / n * 1e6
    keys_ = {world["kid"]: public}
    started = time.perf_counter()
    for _ in range(n):
        qr.verify(text, keys_, now)
    full_us = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    for _ in range(n):
        qr.sign(
            kid=world["kid"],
            key=key,
            kind="R",
            subject=world["subjects"][0][0],
            issued_at=now,
            expires_at=now + 60,
        )
    sign_us = (time.perf_counter() - started) / n * 1e6
    return {
        "ed25519_verify_us": round(verify_us, 1),
        "qr_verify_offline_us": round(full_us, 1),
        "qr_sign_us": round(sign_us, 1),
    }


# --- child: requests ------------------------------------------------------------------------------


def _requests(world: dict, count: int, start: int, ttl: int) -> list[tuple[bytes, dict]]:
    """``count`` signed decision requests, each with a never-used code (resident ``start + i``)."""
    from linli.access.credentials import qr
    from linli.access.gate import device_auth

    key = qr.load_private_key(world["private_key"])
    subjects = world["subjects"]
    now = int(time.time())
    out = []
    for i in range(count):
        token, door_no = subjects[(start + i) % len(subjects)]
        code = qr.sign(
            kid=world["kid"], key=key, kind="R", subject=token, issued_at=now, expires_at=now + ttl
        )
        body = json.dumps({"door_no": door_no, "method": "qr", "credential": code}).encode()
        headers = device_auth.signed_headers(
            key=world["device_key"], secret=world["device_secret"], method="POST", path=DECIDE_PATH, body=body
        )
        headers["Content-Type"] = "application/json"
        out.append((body, headers))
    return out


class _Conn:
    """A keep-alive connection that reconnects once when the server closed it between requests."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def send(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                self.reconnects += 1
                if attempt:
                    raise
                continue
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return response.status, data
        raise RuntimeError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _summary(latencies_ms: list[float]) -> dict:
    s = sorted(latencies_ms)
    return {
        "p50_ms": round(statistics.median(s), 2),
        "p99_ms": round(s[max(0, int(len(s) * 0.99) - 1)], 2),
        "max_ms": round(s[-1], 2),
        "mean_ms": round(statistics.fmean(s), 2),
    }


def _check(results: list[tuple[int, bytes]]) -> dict:
    outcomes: dict[str, int] = {}
    for status, data in results:
        if status != 200:
            key = f"http_{status}"
        else:
            body = json.loads(data)
            key = body["result"] if body["result"] == "allow" else f"deny:{body['reason']}"
        outcomes[key] = outcomes.get(key, 0) + 1
    return outcomes


def _paced(port: int, reqs: list, rate: float, connections: int) -> dict:
    """Open loop: request i is due at t0 + i/rate; latency counts from that due time."""
    work: queue.Queue = queue.Queue()
    done: list = [None] * len(reqs)
    conns = [_Conn(port) for _ in range(connections)]

    def worker(conn: _Conn) -> None:
        while True:
            item = work.get()
            if item is None:
                return
            i, due = item
            body, headers = reqs[i]
            sent = time.perf_counter()
            status, data = conn.send("POST", DECIDE_PATH, body, headers)
            end = time.perf_counter()
            done[i] = (due, sent, end, status, data)

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in conns]
    for t in threads:
        t.start()
    t0 = time.perf_counter() + 0.05
    late = 0
    for i in range(len(reqs)):
        due = t0 + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        elif wait < -0.001:
            late += 1
        work.put((i, due))
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    first_due = done[0][0]
    last_end = max(d[2] for d in done)
    return {
        "offered_rps": rate,
        "requests": len(reqs),
        "achieved_rps": round(len(reqs) / (last_end - first_due), 1),
        "latency": _summary([(d[2] - d[0]) * 1000 for d in done]),
        "service": _summary([(d[2] - d[1]) * 1000 for d in done]),
        "dispatch_late": late,
        "outcomes": _check([(d[3], d[4]) for d in done]),
        "reconnects": sum(c.reconnects for c in conns),
    }


def _closed(port: int, reqs: list, connections: int, seconds: float) -> dict:
    """Closed loop: each connection sends its next request as soon as the previous one answered."""
    lock = threading.Lock()
    state = {"next": 0}
    records: list = []
    stop_at = time.perf_counter() + seconds
    conns = [_Conn(port) for _ in range(connections)]

    def worker(conn: _Conn) -> None:
        while time.perf_counter() < stop_at:
            with lock:
                i = state["next"]
                if i >= len(reqs):
                    return
                state["next"] = i + 1
            body, headers = reqs[i]
            sent = time.perf_counter()
            status, data = conn.send("POST", DECIDE_PATH, body, headers)
            records.append((sent, time.perf_counter(), status, data))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    for c in conns:
        c.close()
    return {
        "connections": connections,
        "requests": len(records),
        "achieved_rps": round(len(records) / elapsed, 1),
        "latency": _summary([(r[1] - r[0]) * 1000 for r in records]),
        "outcomes": _check([(r[2], r[3]) for r in records]),
        "exhausted_prepared_requests": len(records) >= len(reqs),
    }


def _floor(port: int, n: int = 400) -> dict:
    conn = _Conn(port)
    samples = []
    for i in range(n + 20):
        started = time.perf_counter()
        status, _data = conn.send("GET", "/static/linli/app.css", None, {})
        if status != 200:
            raise RuntimeError(f"static file: {status}")
        if i >= 20:
            samples.append((time.perf_counter() - started) * 1000)
    conn.close()
    return _summary(samples)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


class _Cpu:
    """CPU spent by the server (gunicorn master and workers) and by this client during a phase."""

    def __init__(self, server: _Server) -> None:
        self.pids = server.pids()
        self.server = _cpu_seconds(self.pids)
        self.client = time.process_time()

    def per_request(self, n: int) -> dict:
        return {
            "server_cpu_ms_per_request": round((_cpu_seconds(self.pids) - self.server) / n * 1000, 2),
            "client_cpu_ms_per_request": round((time.process_time() - self.client) / n * 1000, 2),
        }


class _Server:
    """``linli web`` in a child process on a free port; the port is read from gunicorn's log."""

    def __init__(self) -> None:
        env = {**os.environ, "LINLI_WORKERS": "2", "LINLI_THREADS": "4"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "linli", "web", "--bind", "127.0.0.1:0"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.port = self._port()
        self._wait_ready()

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line)
            if "ERROR" in line or "Traceback" in line:
                self.errors.append(line.strip()[:300])

    def _port(self) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            m = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
            if m:
                return int(m.group(1))
        self.stop()
        raise RuntimeError("linli web did not start")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/static/linli/app.css")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("linli web did not answer")

    def pids(self) -> list[int]:
        """The master and its workers."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            workers = [int(p) for p in children.read_text().split()]
        except OSError:
            workers = []
        return [self.proc.pid, *workers]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def child(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    result: dict = {}
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    result["vendor"] = connection.vendor
    result["migrate_s"] = round(time.perf_counter() - started, 1)
    log(f"{args.child}: migrated in {result['migrate_s']} s")
    started = time.perf_counter()
    world = _seed(args.residents)
    result.update({"residents": args.residents, "access_points": world["points"]})
    log(
        f"{args.child}: seeded {args.residents} residents, {world['points']} access points "
        f"in {time.perf_counter() - started:.1f} s"
    )
    result.update(_bare_costs(world))
    log(
        f"{args.child}: bare Ed25519 verify {result['ed25519_verify_us']} µs, "
        f"qr.verify {result['qr_verify_offline_us']} µs, sign {result['qr_sign_us']} µs"
    )
    from django.db.models import Count

    from linli.access.models import AccessEvent

    connections.close_all()
    server = _Server()
    try:
        result["floor"] = _floor(server.port)
        log(
            f"{args.child}: HTTP floor (static file) p50 {result['floor']['p50_ms']} ms, "
            f"p99 {result['floor']['p99_ms']} ms"
        )
        n_paced = int(args.rate * args.seconds)
        warm = _requests(world, 200, start=0, ttl=600)
        paced_reqs = _requests(world, n_paced, start=200, ttl=int(args.seconds) + 300)
        _paced(server.port, warm, rate=min(args.rate, 100), connections=args.connections)
        log(f"{args.child}: paced phase: {n_paced} requests at {args.rate} req/s")
        cpu = _Cpu(server)
        paced = _paced(server.port, paced_reqs, rate=args.rate, connections=args.connections)
        paced.update(cpu.per_request(len(paced_reqs)))
        result["paced"] = paced
        log(
            f"{args.child}: paced {paced['achieved_rps']} req/s achieved of {args.rate} offered; latency p50 "
            f"{paced['latency']['p50_ms']} ms, p99 {paced['latency']['p99_ms']} ms; "
            f"outcomes {paced['outcomes']}; server CPU {paced['server_cpu_ms_per_request']} ms/request"
        )
        n_max = int(args.max_seconds * 600)
        max_reqs = _requests(world, n_max, start=200 + n_paced, ttl=int(args.max_seconds) + 300)
        log(
            f"{args.child}: max phase: closed loop over {args.connections} connections "
            f"for {args.max_seconds} s"
        )
        cpu = _Cpu(server)
        maximum = _closed(server.port, max_reqs, args.connections, args.max_seconds)
        maximum.update(cpu.per_request(maximum["requests"]))
        result["max"] = maximum
        log(
            f"{args.child}: max {maximum['achieved_rps']} req/s; latency p50 "
            f"{maximum['latency']['p50_ms']} ms, p99 {maximum['latency']['p99_ms']} ms; "
            f"outcomes {maximum['outcomes']}; server CPU {maximum['server_cpu_ms_per_request']} ms/request"
        )
        result["server_errors"] = server.errors[:5]
    finally:
        server.stop()
    stored = dict(AccessEvent.objects.values_list("result").annotate(n=Count("id")))
    result["events_stored"] = stored
    result["server"] = "linli web: gunicorn gthread, 2 workers x 4 threads"
    bad = {k: v for k, v in {**paced["outcomes"], **maximum["outcomes"]}.items() if k != "allow"}
    if bad:
        raise SystemExit(f"unexpected answers: {bad}")
    Path(args.out).write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200, help="offered requests/s in the paced phase")
    parser.add_argument("--seconds", type=float, default=20, help="length of the paced phase")
    parser.add_argument("--residents", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections of the client")
    parser.add_argument("--max-seconds", type=float, default=5, help="length of the closed-loop phase")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--child", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    started = time.monotonic()
    results = parent(args)
    results["meta"] = {
        "machine_cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "total_s": round(time.monotonic() - started, 1),
        "note": "2 shared cores: server, database and load generator on the same machine",
    }
    print(json.dumps(results, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
