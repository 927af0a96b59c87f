"""Periodic jobs of entry and exit: retention purges (events per estate, code uses, visitor passes),
the not-seen scan, overdue device deletes and the move-out sweep of biometric templates."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from linli.access import tasks
from linli.access.models import (
    AccessEvent,
    AccessPoint,
    AccessSettings,
    AccessSubject,
    BiometricTemplate,
    CodeUse,
    VisitorPass,
)
from linli.access.tests import factories as f
from linli.core import periodic
from linli.people.models import Occupancy
from linli.people.tests import factories as people_f


def _event(point, days_ago: float, now):
    at = now - timedelta(days=days_ago)
    return AccessEvent.objects.create(
        estate=point.estate,
        path=point.path,
        access_point=point,
        occurred_at=at,
        received_at=at,
        method="card",
        result="allow",
        reason="ok",
    )


def test_access_events_are_purged_after_each_estates_retention(world):
    now = timezone.now()
    gate_a = f.access_point(estate=world.a.estate)
    gate_b = f.access_point(estate=world.b.estate)
    AccessSettings.objects.create(estate=world.b.estate, event_retention_days=30)
    keep_a, _gone_a = _event(gate_a, 179, now), _event(gate_a, 181, now)
    keep_b, _gone_b = _event(gate_b, 29, now), _event(gate_b, 31, now)
    assert tasks.purge_access_events(now) == 2
    assert set(AccessEvent.objects.values_list("pk", flat=True)) == {keep_a.pk, keep_b.pk}


def test_code_uses_older_than_a_day_go(world):
    now = timezone.now()
    gate = f.access_point(estate=world.a.estate)
    CodeUse.objects.create(nonce="a" * 16, access_point=gate, used_at=now - timedelta(hours=25))
    fresh = CodeUse.objects.create(nonce="b" * 16, access_point=gate, used_at=now - timedelta(hours=23))
    assert tasks.purge_events(now) == "purged 0 access events, 1 code uses"
    assert list(CodeUse.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_visitor_passes_are_purged_by_the_visitor_job(world):
    now = timezone.now()
    old = f.visitor_pass(
        estate=world.a.estate, valid_from=now - timedelta(days=40), valid_until=now - timedelta(days=31)
    )
    recent = f.visitor_pass(
        estate=world.a.estate, valid_from=now - timedelta(days=3), valid_until=now - timedelta(days=2)
    )
    assert tasks.purge_visitors(now) == "purged 1 visitor passes"
    assert list(VisitorPass.objects.values_list("pk", flat=True)) == [recent.pk]
    assert old.pk not in set(VisitorPass.objects.values_list("pk", flat=True))


def test_the_not_seen_job_reports_what_it_did(world):
    gate = f.access_point(estate=world.a.estate)
    AccessPoint.objects.filter(pk=gate.pk).update(created_at=timezone.now() - timedelta(days=5))
    assert tasks.not_seen(timezone.now()) == "not seen: opened 0, closed 0"


def test_the_move_out_sweep_deletes_templates_of_people_who_left(world):
    now = timezone.now()
    left = world.a.persons[1]
    staying = world.a.persons[2]
    staff_person = people_f.person(estate=world.a.estate)  # never lived here (a staff member)
    for i, person in enumerate((left, staying, staff_person)):
        subject = AccessSubject.objects.create(pseudonym=f"S{i:015d}", person=person, estate=world.a.estate)
        BiometricTemplate.objects.create(subject=subject, modality="face", enrolled_at=now)
    Occupancy.objects.filter(person=left).update(end_date=date(2026, 1, 31))
    assert [s.person_id for s in tasks.moved_out_subjects()] == [left.pk]
    assert tasks.moved_out_sweep(now) == "moved out: 1 persons swept"
    assert set(BiometricTemplate.objects.values_list("subject__person_id", flat=True)) == {
        staying.pk,
        staff_person.pk,
    }
    assert tasks.moved_out_sweep(now) == "moved out: 0 persons swept"


def test_the_jobs_are_registered(world):
    periodic.autodiscover()
    names = {n for n in periodic.REGISTRY if n.startswith("access.")}
    assert names >= {
        "access.not_seen_scan",
        "access.purge_events",
        "access.purge_visitors",
        "access.device_deletes_overdue",
        "access.moved_out_sweep",
    }
    assert periodic.REGISTRY["access.not_seen_scan"].every == timedelta(minutes=15)
    assert tasks.device_deletes_overdue(timezone.now()) == "overdue device deletions: 0"
