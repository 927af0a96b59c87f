"""Demo data for patrols: two routes per estate with their checkpoints (linked to the estate's
facilities where there are some), daily schedules and 14 days of walked runs — most completed, a few
partial or missed — with a couple of findings that became work orders. Called by ``linli demo``."""

from __future__ import annotations

import io
import random
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from PIL import Image

from linli.core.scoping import Actor
from linli.orgs.roles import ROLE_PERMISSIONS, Role
from linli.orgs.selectors import actor_for_user
from linli.patrols import services
from linli.patrols.models import PatrolRoute, PatrolRun
from linli.places.models import Facility, Region, RegionLevel

HISTORY_DAYS = 14

ROUTES = [
    (
        "日常安全巡逻",
        "小区周界、出入口、地下车库与楼道",
        [
            ("南门岗亭", "南门", Facility.Kind.GATE),
            ("北门", "北门", Facility.Kind.GATE),
            ("地下车库 A 区", "地下一层", Facility.Kind.CAMERA),
            ("地下车库 B 区", "地下一层", Facility.Kind.CHARGER),
            ("中心花园", "小区中心", None),
            ("垃圾分类站", "东侧", None),
            ("周界围墙东段", "东侧围墙", None),
        ],
        [(time(9, 0), 60), (time(21, 0), 60)],
    ),
    (
        "消防设施巡检",
        "消火栓、灭火器、水泵房与消防通道",
        [
            ("水泵房", "地下一层", Facility.Kind.PUMP),
            ("消火栓（1号楼）", "1号楼一层", Facility.Kind.HYDRANT),
            ("灭火器箱（2号楼）", "2号楼一层", Facility.Kind.EXTINGUISHER),
            ("喷淋阀组", "地下车库", Facility.Kind.SPRINKLER),
            ("消防通道（北侧）", "北侧", None),
            ("电梯机房", "1号楼顶层", Facility.Kind.ELEVATOR),
        ],
        [(time(14, 0), 90)],
    ),
]

FINDINGS = [
    "消防通道被电动车占用",
    "地下车库 B 区照明灯损坏两盏",
    "南门道闸抬杆迟缓",
    "灭火器压力表指针在红区",
]


def _manager(estate: Region) -> Actor:
    """A system actor managing patrols of this estate (the demo runs outside any request)."""
    from linli.accounts.models import User

    user = User.objects.filter(username="demo-system").first() or User.objects.create(
        username="demo-system", kind="staff", is_active=False
    )
    return Actor(
        user=user,
        roles=frozenset({Role.PROPERTY_ADMIN}),
        permissions=ROLE_PERMISSIONS[Role.PROPERTY_ADMIN],
        scope_paths=(estate.path,),
        primary_role=Role.PROPERTY_ADMIN,
    )


def _photo(rng: random.Random) -> io.BytesIO:
    img = Image.new("RGB", (320, 240), (rng.randint(80, 200), rng.randint(80, 200), rng.randint(80, 200)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    buf.seek(0)
    buf.size = len(buf.getvalue())  # type: ignore[attr-defined]
    return buf


def seed(estate: Region, guards: list, today: date | None = None) -> dict:
    """Create the patrol demo of one estate; returns counts. ``guards`` are staff users holding
    ``patrols.checkin`` over the estate (without guards every past run is missed)."""
    assert estate.level == RegionLevel.ESTATE
    rng = random.Random(estate.pk * 7919)  # noqa: S311  (reproducible demo data, not security)
    now = timezone.now()
    today = today or timezone.localdate(now)
    if today != timezone.localdate(now):
        now = timezone.make_aware(datetime.combine(today, time(23, 0)))
    manager = _manager(estate)
    facilities: dict[str, list[Facility]] = {}
    for f in Facility.objects.filter(estate=estate).order_by("pk"):
        facilities.setdefault(f.kind, []).append(f)
    buildings = list(Region.objects.filter(parent=estate, level=RegionLevel.BUILDING).order_by("path")[:2])
    routes: list[PatrolRoute] = []
    for name, description, checkpoints, schedules in ROUTES:
        route = PatrolRoute.objects.filter(estate=estate, name=name).first()
        if route is not None:  # already seeded
            routes.append(route)
            continue
        route = services.route_create(actor=manager, estate=estate, name=name, description=description)
        for i, (cp_name, location, kind) in enumerate(checkpoints, 1):
            pool = facilities.get(kind, []) if kind else []
            facility = pool.pop(0) if pool else None
            building = None
            if "1号楼" in cp_name and buildings:
                building = buildings[0]
            elif "2号楼" in cp_name and len(buildings) > 1:
                building = buildings[1]
            services.checkpoint_create(
                actor=manager,
                route=route,
                name=cp_name,
                order=i,
                location=location,
                building=building,
                facility=facility,
            )
        for start, minutes in schedules:
            services.schedule_create(actor=manager, route=route, start_time=start, window_minutes=minutes)
        routes.append(route)

    first = today - timedelta(days=HISTORY_DAYS)
    day = first
    while day <= today + timedelta(days=1):
        services.runs_plan(day=day, estate=estate)
        day += timedelta(days=1)

    actors = [actor_for_user(g) for g in guards]
    walked = findings = 0
    finding_texts = list(FINDINGS)
    runs = PatrolRun.objects.filter(
        estate=estate, date__gte=first, window_end__lt=now, status="planned"
    ).order_by("window_start", "pk")
    for run in runs:
        if not actors:
            break
        roll = rng.random()
        if roll < 0.06:
            continue  # missed: nobody walked it
        guard = rng.choice(actors)
        cps = list(run.route.checkpoints.filter(active=True).order_by("order", "pk"))
        skip = set(rng.sample(range(len(cps)), k=min(2, len(cps)))) if roll < 0.16 else set()
        at = run.window_start + timedelta(minutes=rng.randint(1, 6))
        step = max(1, (run.window_end - run.window_start).seconds // 60 // (len(cps) + 2))
        for i, cp in enumerate(cps):
            at += timedelta(minutes=rng.randint(max(1, step - 3), step), seconds=rng.randint(0, 59))
            if i in skip or at > run.window_end:
                continue
            services.checkin(actor=guard, code=cp.code, now=at)
        walked += 1
        if len(finding_texts) > 2 and run.date >= today - timedelta(days=3):
            cp = rng.choice(cps)
            services.finding_report(
                actor=guard,
                run=run,
                checkpoint=cp,
                description=finding_texts.pop(0),
                photos=[_photo(rng)],
            )
            findings += 1
    closed = services.runs_close_due(now=now)
    return {"routes": len(routes), "walked": walked, "findings": findings, "closed": closed.closed}
