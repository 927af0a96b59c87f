from datetime import timedelta

import pytest
from django.utils import timezone

from linli.core import periodic
from linli.core.models import PeriodicRun


@pytest.fixture
def counter_job():
    calls = []

    @periodic.periodic("test.counter", every=timedelta(minutes=5))
    def job(now):
        calls.append(now)
        return f"run {len(calls)}"

    yield calls
    periodic.REGISTRY.pop("test.counter", None)


@pytest.mark.django_db
def test_a_job_runs_once_per_interval(counter_job):
    t0 = timezone.now()

    first = periodic.run_due(t0, only="test.counter")
    again = periodic.run_due(t0 + timedelta(minutes=4), only="test.counter")
    later = periodic.run_due(t0 + timedelta(minutes=5), only="test.counter")

    assert first == {"test.counter": "run 1"}
    assert again == {}
    assert later == {"test.counter": "run 2"}
    assert PeriodicRun.objects.get(name="test.counter").last_result == "run 2"


@pytest.mark.django_db
def test_a_failing_job_is_recorded_and_does_not_stop_others(counter_job):
    @periodic.periodic("test.broken", every=timedelta(minutes=1))
    def broken(now):
        raise RuntimeError("boom")

    try:
        results = periodic.run_due(timezone.now())
    finally:
        periodic.REGISTRY.pop("test.broken", None)

    assert results["test.broken"] == "error: RuntimeError: boom"
    assert results["test.counter"] == "run 1"


@pytest.mark.django_db
def test_tick_command_runs_a_due_job_once(counter_job):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("tick", only="test.counter", stdout=out)
    call_command("tick", only="test.counter", stdout=out)

    assert out.getvalue().splitlines() == ["test.counter: run 1", "no job due"]


@pytest.mark.django_db
def test_every_registered_job_of_every_app_runs(world):
    """Each app's periodic jobs accept ``now`` and finish without error on a small world."""
    periodic.autodiscover()

    results = periodic.run_due(timezone.now(), force=True)

    assert {name for name in results if name.startswith("test.")} == set()
    assert [f"{name}: {outcome}" for name, outcome in results.items() if outcome.startswith("error")] == []
    assert len(results) >= 8
