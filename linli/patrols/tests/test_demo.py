"""The demo seed: two routes of 6–8 checkpoints, daily schedules, 14 days of runs, a couple of findings."""

from datetime import date

from linli.orgs.roles import Role
from linli.patrols import demo
from linli.patrols.models import CheckIn, Finding, PatrolRoute, PatrolRun
from linli.places.tests import factories as places_f


def test_seed_creates_routes_runs_checkins_and_findings(world):
    places_f.facility(estate=world.a.estate, kind="pump", name="1号水泵")
    today = date(2025, 3, 20)

    result = demo.seed(world.a.estate, [world.a.staff[Role.GUARD]], today=today)

    routes = list(PatrolRoute.objects.filter(estate=world.a.estate).order_by("name"))
    assert len(routes) == 2
    assert all(6 <= r.checkpoints.count() <= 8 for r in routes)
    assert (
        routes[0].checkpoints.filter(facility__name="1号水泵").count()
        + routes[1].checkpoints.filter(facility__name="1号水泵").count()
        == 1
    )
    past = PatrolRun.objects.filter(estate=world.a.estate, date__lt=today)
    statuses = set(past.values_list("status", flat=True))
    assert statuses <= {"completed", "partial", "missed"}
    assert past.filter(status="completed").count() > past.exclude(status="completed").count()
    assert past.values("date").distinct().count() == 14
    assert CheckIn.objects.filter(run__estate=world.a.estate).exists()
    assert (
        Finding.objects.filter(run__estate=world.a.estate, workorder_id__isnull=False).count()
        == result["findings"]
        == 2
    )
    # Seeding again adds no routes or runs.
    runs = PatrolRun.objects.count()
    demo.seed(world.a.estate, [world.a.staff[Role.GUARD]], today=today)
    assert (PatrolRoute.objects.filter(estate=world.a.estate).count(), PatrolRun.objects.count()) == (2, runs)
