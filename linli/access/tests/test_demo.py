"""The demo entry and exit of one estate: access points with registered controllers, default
policies, credentials, a week of events, visitor passes, anomalies found by the real rules, nothing
new on a second run, and the access points listed in demo-devices.json."""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone

from linli.access import demo
from linli.access.models import (
    AccessAnomaly,
    AccessEvent,
    AccessPoint,
    AccessPolicy,
    Credential,
    Holiday,
    VisitorPass,
)
from linli.demo import simulator
from linli.devices.models import Device, estate_code_of
from linli.people.models import CareKind
from linli.people.tests import factories as people_f


def _seed(estate, now):
    lines: list[str] = []
    return demo.seed(estate, log=lines.append, now=now), lines


def test_seed_builds_the_estates_access_control_and_a_week_of_events(world):
    # given estate a with one elderly resident living alone
    elderly = people_f.person(estate=world.a.estate, room=world.a.rooms[2])
    people_f.care_tag(person=elderly, kind=CareKind.ELDERLY_ALONE)
    now = timezone.now()
    p = estate_code_of(world.a.estate).lower()
    # when the demo seeds it
    counts, lines = _seed(world.a.estate, now)
    # then the gates, the unit door and the garage barrier exist, each with its own controller
    points = {pt.code: pt for pt in AccessPoint.objects.select_related("device", "building")}
    assert set(points) == {"gate-east", "gate-south", f"door-{world.a.building.pk}", "garage"}
    assert {pt.device.key for pt in points.values()} == {
        f"{p}-acs-gate-east",
        f"{p}-acs-gate-south",
        f"{p}-acs-door-{world.a.building.pk}",
        f"{p}-acs-garage",
    }
    assert all(pt.device.adapter == "generic" and pt.device.secret for pt in points.values())
    assert points[f"door-{world.a.building.pk}"].building == world.a.building
    assert points["garage"].allowed_methods == ["plate", "card", "staff"]
    assert {pol.audience for pol in AccessPolicy.objects.filter(estate=world.a.estate)} == {
        "residents",
        "visitors",
        "staff",
    }
    assert Holiday.objects.filter(estate__isnull=True).count() == 39
    # and the resident with an account has a QR identity, the elderly resident a card
    assert Credential.objects.get(kind="qr").person == world.a.persons[0]
    assert Credential.objects.filter(kind="card", person=elderly).count() == 1
    assert counts["qr"] == 1 and counts["cards"] == Credential.objects.filter(kind="card").count() >= 2
    # and a week of events in estate a only, none in the future
    events = AccessEvent.objects.all()
    assert counts["events"] == events.count() > 50
    assert set(events.values_list("estate_id", flat=True)) == {world.a.estate.pk}
    assert events.filter(occurred_at__gt=now).count() == 0
    assert events.filter(occurred_at__lt=now - timedelta(days=8)).count() == 0
    assert events.filter(subject_kind="visitor").exists()
    assert counts["visitor_passes"] == VisitorPass.objects.count() >= 35
    # and the rules found the crafted anomalies, the care alert included
    kinds = sorted(AccessAnomaly.objects.values_list("kind", flat=True))
    assert kinds == ["not_seen", "rapid_reuse", "repeated_denials", "tailgating"]
    assert AccessAnomaly.objects.get(kind="not_seen").person == elderly
    assert lines[0].startswith(f"  {world.a.estate.name}: 4 access points, 1 QR and ")
    # a second run adds nothing
    again, _lines = _seed(world.a.estate, now + timedelta(minutes=5))
    assert again == {"access_points": 0, "qr": 0, "cards": 0, "events": 0, "visitor_passes": 0}
    assert AccessEvent.objects.count() == counts["events"]
    assert AccessAnomaly.objects.count() == 4


def test_demo_devices_file_lists_each_access_point_with_its_controller(world, tmp_path):
    _seed(world.a.estate, timezone.now())
    doc = simulator.write_demo_devices(tmp_path / "demo-devices.json", "mqtt://127.0.0.1:1883")
    written = json.loads((tmp_path / "demo-devices.json").read_text(encoding="utf-8"))
    assert written["access_points"] == doc["access_points"]
    section = {a["code"]: a for a in doc["access_points"]}
    assert len(section) == 4
    gate = section["gate-east"]
    device = Device.objects.get(key=gate["device_key"])
    assert (gate["device_secret"], gate["estate_code"], gate["kind"]) == (
        device.secret,
        estate_code_of(world.a.estate),
        "pedestrian_gate",
    )
    assert gate["allowed_methods"] == ["qr", "card", "face", "staff"]
    assert (gate["decision_endpoint"], gate["public_keys_endpoint"]) == (
        "/api/v1/access/device/decisions",
        "/api/v1/access/device/keys",
    )
    assert gate["auth"]["headers"] == ["X-Linli-Device", "X-Linli-Timestamp", "X-Linli-Signature"]
    assert gate["auth"]["window_seconds"] == 300


def test_an_estate_without_a_property_admin_gets_no_access_demo(world):
    from linli.places.tests import factories as places_f

    estate = places_f.estate(name="无人小区")
    counts, lines = _seed(estate, timezone.now())
    assert counts == {}
    assert lines == ["  无人小区: no property admin, no access demo"]
    assert AccessPoint.objects.count() == 0
