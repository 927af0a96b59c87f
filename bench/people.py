"""Benchmark of the people register: spreadsheet imports and the persons API under gunicorn.

    .venv/bin/python bench/people.py [--requests 400] [--residents 10000] [--rooms 3000] [--only sqlite]

For each database (SQLite in a temporary file; PostgreSQL at ``LINLI_BENCH_PG_URL``, default
postgres://postgres@127.0.0.1:5432/test, in its own database ``linli_bench`` that is created and
dropped here) a child process (settings are per process) migrates a fresh database, builds the
region chain and one estate, then measures:

(a) rooms/s      importing an in-memory XLSX of 3,000 rooms through the places import service;
(b) residents/s  importing an XLSX of 10,000 residents through the people import service;
(c) latency      of GET /api/v1/people/persons?page_size=20 (plain and filtered by a name) with a
                 bearer token of the estate's property admin, N sequential keep-alive requests
                 against a real ``linli web`` (gunicorn, 2 workers × 4 threads) on a free port, and
                 the floor: GET /static/linli/app.css on the same server in the same run.

The import services are used when present (``linli.places.services.rooms_import``,
``linli.people.services.residents_import``); if one is missing the bench falls back to a direct
path (openpyxl read + ``room_build``/model instances + ``bulk_create``) and says so under "path".

Progress goes to stdout; the last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import http.client
import io
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

PG_DB = "linli_bench"
PASSWORD = "Bench-Quartz-Lantern-42"  # noqa: S105 - a throwaway account in a throwaway database


def parent(args: argparse.Namespace) -> dict:
    child_args = [
        "--requests",
        str(args.requests),
        "--residents",
        str(args.residents),
        "--rooms",
        str(args.rooms),
    ]
    return per_database(Path(__file__), child_args, only=args.only, pg_db=PG_DB)


# --- child: the measurements on one database ---------------------------------------------------


def _setup_django() -> None:
    import django

    django.setup()


def _xlsx(header: list[str], rows: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _room_layout(n: int) -> list[tuple[str, str, int, str]]:
    """(building, unit, floor, number) for n rooms: buildings of 2 units × 25 floors × 6 rooms."""
    rooms = []
    b = 0
    while len(rooms) < n:
        b += 1
        for unit in (1, 2):
            for floor in range(1, 26):
                for k in range(1, 7):
                    rooms.append((f"{b}号楼", f"{unit}单元", floor, f"{floor}{k:02d}"))
    return rooms[:n]


def _world():
    """Region chain, one estate, and a property admin scoped to it."""
    from linli.accounts.models import User
    from linli.orgs.models import Membership, Organization, OrgKind
    from linli.orgs.roles import Role
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
    org = Organization.objects.create(kind=OrgKind.PROPERTY_COMPANY, name="基准物业")
    user = User(username="bench_manager", display_name="基准管理员")
    user.set_password(PASSWORD)
    user.save()
    m = Membership.objects.create(user=user, organization=org, role=Role.PROPERTY_ADMIN)
    m.scope.set([estate])
    return estate, user


def _import_rooms(estate, user, n: int) -> dict:
    from linli.places.models import Room

    layout = _room_layout(n)
    rows = [
        [b, u, f, num, f"{80 + (i % 70)}.50", "住宅", "自住" if i % 7 else "出租"]
        for i, (b, u, f, num) in enumerate(layout)
    ]
    data = _xlsx(["楼栋", "单元", "楼层", "房号", "建筑面积", "用途", "状态"], rows)
    try:
        from linli.places.services import rooms_import
    except ImportError:
        rooms_import = None
    started = time.perf_counter()
    if rooms_import is not None:
        from linli.orgs.selectors import actor_for_user

        job = rooms_import(actor=actor_for_user(user), estate=estate, file_name="rooms.xlsx", data=data)
        path = "linli.places.services.rooms_import"
        if job.status != "applied":
            raise RuntimeError(f"room import rejected: {job.errors[:3]}")
    else:
        _direct_rooms(estate, data)
        path = "direct: openpyxl + places.services.room_build + bulk_create"
    seconds = time.perf_counter() - started
    count = Room.objects.filter(estate=estate).count()
    assert count == n, count
    return {
        "rooms": n,
        "rooms_s": round(seconds, 2),
        "rooms_per_s": round(n / seconds),
        "rooms_path": path,
        "rooms_xlsx_kb": len(data) // 1024,
    }


def _direct_rooms(estate, data: bytes) -> None:
    from decimal import Decimal

    from django.db import transaction
    from openpyxl import load_workbook

    from linli.places import services as places
    from linli.places.models import RegionLevel, Room

    wb = load_workbook(io.BytesIO(data), read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))[1:]
    ancestors = estate.ancestors(include_self=True)
    with transaction.atomic():
        buildings, units, rooms = {}, {}, []
        for b, u, floor, number, area, _use, status in rows:
            if b not in buildings:
                buildings[b] = places.region_create(level=RegionLevel.BUILDING, name=b, parent=estate)
            if (b, u) not in units:
                units[(b, u)] = places.region_create(level=RegionLevel.UNIT, name=u, parent=buildings[b])
            rooms.append(
                places.room_build(
                    estate=estate,
                    building=buildings[b],
                    unit=units[(b, u)],
                    floor=int(floor),
                    number=str(number),
                    area=Decimal(str(area)),
                    status="self" if status == "自住" else "rented",
                    ancestors=ancestors,
                )
            )
        Room.objects.bulk_create(rooms, batch_size=1000)


def _resident_rows(estate, n: int) -> tuple[list[list], list[str]]:
    import random
    from datetime import date, timedelta

    from linli.demo import identities as ident
    from linli.places.models import Room

    rng = random.Random(42)
    pool = ident.IdentityPool(rng)
    rooms = list(Room.objects.filter(estate=estate).select_related("building", "unit").order_by("pk"))
    today = date.today()
    rows, names = [], []
    for i in range(n):
        room = rooms[i % len(rooms)]
        first_in_room = i < len(rooms)
        tenant = room.status == "rented"
        male = rng.random() < 0.5
        born = ident.birth_date(rng, age_min=25 if first_in_room else 1, age_max=80, today=today)
        name = ident.person_name(rng, male=male)
        names.append(name)
        relation = "租户" if tenant else ("业主" if first_in_room else "家属")
        start = max(born, today - timedelta(days=rng.randint(30, 3000)))
        rows.append(
            [
                name,
                "居民身份证",
                pool.id_number(area=rng.choice(list(ident.HOME_AREAS)), birth=born, male=male),
                pool.mobile(),
                room.building.name,
                room.unit.name if room.unit else "",
                room.number,
                relation,
                start.isoformat(),
                "",
                "",
            ]
        )
    return rows, names


def _import_residents(estate, user, n: int) -> tuple[dict, list[str]]:
    from linli.people.models import Person

    rows, names = _resident_rows(estate, n)
    header = [
        "姓名",
        "证件类型",
        "证件号码",
        "手机号",
        "楼栋",
        "单元",
        "房号",
        "关系",
        "入住日期",
        "人口类型",
        "标签",
    ]
    data = _xlsx(header, rows)
    try:
        from linli.people.services import residents_import
    except ImportError:
        residents_import = None
    started = time.perf_counter()
    if residents_import is not None:
        from linli.orgs.selectors import actor_for_user

        job = residents_import(
            actor=actor_for_user(user), estate=estate, file_name="residents.xlsx", data=data
        )
        path = "linli.people.services.residents_import"
        if job.status != "applied":
            raise RuntimeError(f"resident import rejected: {job.errors[:3]}")
    else:
        _direct_residents(estate, data)
        path = "direct: openpyxl + validators + blind_index + bulk_create (persons, occupancies)"
    seconds = time.perf_counter() - started
    count = Person.objects.filter(estate=estate).count()
    assert count == n, count
    return (
        {
            "residents": n,
            "residents_s": round(seconds, 2),
            "residents_per_s": round(n / seconds),
            "residents_path": path,
            "residents_xlsx_kb": len(data) // 1024,
        },
        names,
    )


def _direct_residents(estate, data: bytes) -> None:
    from datetime import date

    from django.db import transaction
    from openpyxl import load_workbook

    from linli.core import crypto
    from linli.core.pii import parse_id_number, parse_mobile
    from linli.people.models import Occupancy, Person
    from linli.places.models import Room

    relations = {"业主": "owner", "家属": "family", "租户": "tenant"}
    rooms = {
        (r.building.name, r.unit.name if r.unit else "", r.number): r.pk
        for r in Room.objects.filter(estate=estate).select_related("building", "unit")
    }
    wb = load_workbook(io.BytesIO(data), read_only=True)
    persons, occ = [], []
    for name, _t, id_no, phone, b, u, number, rel, start, _p, _tags in list(
        wb.worksheets[0].iter_rows(values_only=True)
    )[1:]:
        number_, birth, gender = parse_id_number(id_no)
        phone = parse_mobile(phone)
        persons.append(
            Person(
                estate=estate,
                name=name,
                id_number=number_,
                birth_date=birth,
                gender=gender,
                id_number_hash=crypto.blind_index(number_, purpose=crypto.INDEX_ID_NUMBER),
                phone=phone,
                phone_hash=crypto.blind_index(phone, purpose=crypto.INDEX_PHONE),
            )
        )
        occ.append((rooms[(b, u, str(number))], relations[rel], date.fromisoformat(start)))
    with transaction.atomic():
        Person.objects.bulk_create(persons, batch_size=1000)
        Occupancy.objects.bulk_create(
            [
                Occupancy(estate=estate, person=p, room_id=room, relation=rel, start_date=s)
                for p, (room, rel, s) in zip(persons, occ, strict=True)
            ],
            batch_size=1000,
        )


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
        threading.Thread(target=self._drain, daemon=True).start()
        self.port = self._port()
        self._wait_ready()

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line)

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

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _latency(port: int, path: str, headers: dict[str, str], n: int, warmup: int = 20) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples: list[float] = []
    statuses: dict[int, int] = {}
    body_len = 0
    for i in range(warmup + n):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        if i >= warmup:
            samples.append(elapsed * 1000)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            body_len = len(body)
    conn.close()
    samples.sort()
    if set(statuses) != {200}:
        raise RuntimeError(f"GET {path}: statuses {statuses}")
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 2),
        "mean_ms": round(statistics.fmean(samples), 2),
        "n": n,
        "bytes": body_len,
    }


def _token(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/api/v1/auth/token",
        body=json.dumps({"username": "bench_manager", "password": PASSWORD}),
        headers={"Content-Type": "application/json"},
    )
    response = conn.getresponse()
    payload = json.loads(response.read())
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"token: {response.status} {payload}")
    return payload["token"]


def child(args: argparse.Namespace) -> None:
    from urllib.parse import quote

    _setup_django()
    from django.core.management import call_command
    from django.db import connection, connections

    result: dict = {"vendor": None}
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    result["vendor"] = connection.vendor
    result["migrate_s"] = round(time.perf_counter() - started, 1)
    log(f"{args.child}: migrated in {result['migrate_s']} s")
    estate, user = _world()
    result.update(_import_rooms(estate, user, args.rooms))
    log(f"{args.child}: {args.rooms} rooms imported at {result['rooms_per_s']} rooms/s")
    log(f"{args.child}: room import path: {result['rooms_path']}")
    figures, names = _import_residents(estate, user, args.residents)
    result.update(figures)
    log(
        f"{args.child}: {args.residents} residents imported at {result['residents_per_s']} residents/s "
        f"({result['residents_path']})"
    )
    connections.close_all()
    server = _Server()
    try:
        token = _token(server.port)
        auth = {"Authorization": f"Bearer {token}"}
        name = names[len(names) // 2]
        floor = _latency(server.port, "/static/linli/app.css", {}, args.requests)
        log(f"{args.child}: floor (static file) p50 {floor['p50_ms']} ms, p99 {floor['p99_ms']} ms")
        plain = _latency(server.port, "/api/v1/people/persons?page_size=20", auth, args.requests)
        log(f"{args.child}: persons list p50 {plain['p50_ms']} ms, p99 {plain['p99_ms']} ms")
        filtered = _latency(
            server.port, f"/api/v1/people/persons?page_size=20&q={quote(name)}", auth, args.requests
        )
        log(f"{args.child}: persons q=<name> p50 {filtered['p50_ms']} ms, p99 {filtered['p99_ms']} ms")
    finally:
        server.stop()
    result.update(
        {
            "requests_per_endpoint": args.requests,
            "persons_list_p50_ms": plain["p50_ms"],
            "persons_list_p99_ms": plain["p99_ms"],
            "persons_list_mean_ms": plain["mean_ms"],
            "persons_list_bytes": plain["bytes"],
            "persons_q_name_p50_ms": filtered["p50_ms"],
            "persons_q_name_p99_ms": filtered["p99_ms"],
            "floor_p50_ms": floor["p50_ms"],
            "floor_p99_ms": floor["p99_ms"],
            "floor_path": "/static/linli/app.css (whitenoise)",
            "server": "linli web: gunicorn gthread, 2 workers x 4 threads; 1 sequential keep-alive client",
        }
    )
    Path(args.out).write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400, help="measured requests per endpoint (≥ 300)")
    parser.add_argument("--residents", type=int, default=10000)
    parser.add_argument("--rooms", type=int, default=3000)
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
    }
    print(json.dumps(results, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
