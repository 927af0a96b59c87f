"""Benchmark of the billing run: 10,000 households with property fee, parking and water, one month.

    .venv/bin/python bench/bill_run.py [--rooms 10000] [--only sqlite|postgresql]

For each database (SQLite in a temporary file; PostgreSQL at ``LINLI_BENCH_PG_URL``, default
postgres://postgres@127.0.0.1:5432/test, in its own database ``linli_bench_bills`` created and dropped
here) a child process migrates a fresh database, builds one estate of N rooms (bulk), one parking space
for every third room and a water reading for every room, then measures:

(a) bill_run_s     the bill run of one month through ``linli.billing.services`` (bill_run_start, run
                   inline as the task would run it in ``linli worker``), target < 10 s;
(b) rerun_s        the same run again, which must create 0 bills (idempotent);
(c) anchor_s       the floor measured in the same process: a raw ``bulk_create`` of the same number of
                   bill rows (precomputed, no reads, no checks) into the same table, then deleted.

Progress goes to stdout; the last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import log, per_database

PG_DB = "linli_bench_bills"
PERIOD = "2026-10"


def parent(args: argparse.Namespace) -> dict:
    return per_database(
        Path(__file__),
        ["--rooms", str(args.rooms)],
        only=args.only,
        pg_db=PG_DB,
        extra_env={"LINLI_TASKS_BACKEND": "immediate"},
    )


# --- child: the measurements on one database ---------------------------------------------------


def _world(n: int):
    """Region chain, one estate with n rooms (bulk), parking, water readings, a property admin."""
    from decimal import Decimal

    from django.db import transaction

    from linli.accounts.models import User
    from linli.billing.models import MeterReading
    from linli.orgs.models import Membership, Organization, OrgKind
    from linli.orgs.roles import Role
    from linli.places import services as places
    from linli.places.models import ParkingSpace, RegionLevel, Room

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
    ancestors = estate.ancestors(include_self=True)
    with transaction.atomic():
        rooms, b = [], 0
        while len(rooms) < n:
            b += 1
            building = places.region_create(level=RegionLevel.BUILDING, name=f"{b}号楼", parent=estate)
            for u in (1, 2):
                unit = places.region_create(level=RegionLevel.UNIT, name=f"{u}单元", parent=building)
                for floor in range(1, 26):
                    for k in range(1, 7):
                        if len(rooms) < n:
                            rooms.append(
                                places.room_build(
                                    estate=estate,
                                    building=building,
                                    unit=unit,
                                    floor=floor,
                                    number=f"{floor}{k:02d}",
                                    area=Decimal(80 + len(rooms) % 70) + Decimal("0.5"),
                                    ancestors=ancestors,
                                )
                            )
        Room.objects.bulk_create(rooms, batch_size=2000)
        ids = list(Room.objects.filter(estate=estate).order_by("pk").values_list("pk", flat=True))
        ParkingSpace.objects.bulk_create(
            [ParkingSpace(estate=estate, code=f"P{i:05d}", room_id=rid) for i, rid in enumerate(ids[::3])],
            batch_size=2000,
        )
        MeterReading.objects.bulk_create(
            [
                MeterReading(
                    estate=estate,
                    room_id=rid,
                    kind="water",
                    period=PERIOD,
                    previous=Decimal(100 + i % 50),
                    current=Decimal(110 + i % 50 + i % 7),
                )
                for i, rid in enumerate(ids)
            ],
            batch_size=2000,
        )
    org = Organization.objects.create(kind=OrgKind.PROPERTY_COMPANY, name="基准物业")
    user = User(username="bench_billing")
    user.set_unusable_password()
    user.save()
    m = Membership.objects.create(user=user, organization=org, role=Role.PROPERTY_ADMIN)
    m.scope.set([estate])
    return estate, user, ids


def _anchor(estate, ids: list[int], count: int) -> float:
    """Raw bulk insert of ``count`` precomputed bill rows (the floor of any bill run)."""
    from datetime import date

    from django.db import transaction

    from linli.billing.models import Bill

    rows = [
        Bill(
            estate=estate,
            room_id=ids[i % len(ids)],
            kind="one_off",
            title="anchor",
            period="2099-01",
            amount_fen=100,
            due_date=date(2099, 2, 15),
            source_type="anchor",
            source_id=str(i),
        )
        for i in range(count)
    ]
    started = time.perf_counter()
    with transaction.atomic():
        Bill.objects.bulk_create(rows, batch_size=2000)
    seconds = time.perf_counter() - started
    Bill.objects.filter(source_type="anchor").delete()
    return seconds


def child(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection

    from linli.billing import services
    from linli.billing.models import Bill, BillRun
    from linli.orgs.selectors import actor_for_user

    result: dict = {"vendor": None, "rooms": args.rooms, "period": PERIOD}
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    result["vendor"] = connection.vendor
    result["migrate_s"] = round(time.perf_counter() - started, 1)
    log(f"{args.child}: migrated in {result['migrate_s']} s")
    started = time.perf_counter()
    estate, user, ids = _world(args.rooms)
    result["setup_s"] = round(time.perf_counter() - started, 1)
    log(f"{args.child}: {args.rooms} rooms, parking and water readings in {result['setup_s']} s")
    actor = actor_for_user(user)
    for name, kind, price in (
        ("物业费", "property_fee", Decimal("2.20")),
        ("车位管理费", "parking", Decimal("120")),
        ("水费", "water", Decimal("4.90")),
    ):
        services.fee_item_create(actor=actor, estate=estate, name=name, kind=kind, unit_price=price)

    started = time.perf_counter()
    run = services.bill_run_start(actor=actor, estate=estate, period=PERIOD)
    result["bill_run_s"] = round(time.perf_counter() - started, 2)
    run = BillRun.objects.get(pk=run.pk)
    if run.status != "done":
        raise RuntimeError(f"bill run ended {run.status}: {run.error}")
    result["bills_created"] = run.created_count
    result["bills_per_s"] = round(run.created_count / max(result["bill_run_s"], 1e-9))
    log(f"{args.child}: bill run created {run.created_count} bills in {result['bill_run_s']} s")

    started = time.perf_counter()
    rerun = services.bill_run_start(actor=actor, estate=estate, period=PERIOD)
    result["rerun_s"] = round(time.perf_counter() - started, 2)
    result["rerun_bills_created"] = BillRun.objects.get(pk=rerun.pk).created_count
    result["bills_total_after_rerun"] = Bill.objects.filter(estate=estate, period=PERIOD).count()
    log(f"{args.child}: re-run created {result['rerun_bills_created']} bills in {result['rerun_s']} s")

    anchor = _anchor(estate, ids, run.created_count)
    result["anchor_bulk_insert_s"] = round(anchor, 2)
    result["anchor"] = f"raw Bill.objects.bulk_create of {run.created_count} precomputed rows, same table"
    result["ratio_to_anchor"] = round(result["bill_run_s"] / max(anchor, 1e-9), 1)
    result["target_s"] = 10
    result["within_target"] = result["bill_run_s"] < 10
    log(f"{args.child}: anchor bulk insert {result['anchor_bulk_insert_s']} s")
    Path(args.out).write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooms", type=int, default=10000)
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
