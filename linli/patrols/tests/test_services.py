"""Services: CRUD with permission and audit, idempotent planning, check-in rules, closing runs with
missed-checkpoint notices, findings becoming work orders."""

from datetime import time, timedelta

import pytest
import time_machine

from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.patrols import services, tasks
from linli.patrols.models import CheckIn, PatrolRun, RunStatus
from linli.patrols.tests import factories as f
from linli.patrols.tests.conftest import DAY, at


def test_route_create_needs_manage_and_is_audited(world):
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])

    route = services.route_create(actor=admin, estate=world.a.estate, name=" 夜间巡逻 ")

    assert route.name == "夜间巡逻"
    assert (
        AuditEvent.objects.filter(
            action="data.create", object_type="patrols.patrolroute", object_id=str(route.pk)
        ).count()
        == 1
    )
    with pytest.raises(PermissionDenied):
        services.route_create(
            actor=actor_for_user(world.a.staff[Role.GUARD]), estate=world.a.estate, name="x"
        )
    with pytest.raises(NotFound):
        services.route_create(actor=admin, estate=world.b.estate, name="x")
    with pytest.raises(ValidationFailed) as exc:
        services.route_create(actor=admin, estate=world.a.estate, name="夜间巡逻")
    assert list(exc.value.fields) == ["name"]


def test_checkpoints_get_distinct_unguessable_codes_and_regenerate_replaces_the_code(world):
    route = f.route(estate=world.a.estate, checkpoints=3)
    cps = f.checkpoints(route)

    assert [c.order for c in cps] == [1, 2, 3]
    assert len({c.code for c in cps}) == 3
    assert all(len(c.code) >= 22 for c in cps)
    old = cps[0].code
    services.checkpoint_regenerate_code(
        actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]), checkpoint=cps[0]
    )
    cps[0].refresh_from_db()
    assert cps[0].code != old


def test_checkpoint_rejects_a_building_or_facility_of_another_estate(world):
    from linli.places.tests import factories as places_f

    route = f.route(estate=world.a.estate, checkpoints=0)
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    b_facility = places_f.facility(estate=world.b.estate)

    with pytest.raises(ValidationFailed) as exc:
        services.checkpoint_create(
            actor=admin, route=route, name="x", building=world.b.building, facility=b_facility
        )
    assert sorted(exc.value.fields) == ["building_id", "facility_id"]


def test_schedule_validates_weekdays_window_and_guards(world):
    route = f.route(estate=world.a.estate)
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])

    s = services.schedule_create(
        actor=admin,
        route=route,
        start_time=time(8, 30),
        weekdays="531",
        window_minutes=45,
        guards=[world.a.staff[Role.GUARD]],
    )

    assert (s.weekdays, s.window_minutes, [g.pk for g in s.guards.all()]) == (
        "135",
        45,
        [world.a.staff[Role.GUARD].pk],
    )
    for kwargs, field in (
        ({"weekdays": "18"}, "weekdays"),
        ({"window_minutes": 2}, "window_minutes"),
        ({"guards": [world.b.staff[Role.GUARD]]}, "guard_ids"),
        ({"guards": [world.a.staff[Role.TECHNICIAN]]}, "guard_ids"),
    ):
        with pytest.raises(ValidationFailed) as exc:
            services.schedule_create(actor=admin, route=route, start_time=time(8, 0), **kwargs)
        assert list(exc.value.fields) == [field]


def test_runs_plan_is_idempotent_and_follows_weekdays(world):
    route = f.route(estate=world.a.estate)
    daily = f.schedule(route=route, start=time(9, 0))
    f.schedule(route=route, start=time(21, 0), weekdays="67")  # weekends only
    monday = DAY

    assert services.runs_plan(day=monday) == 1
    assert services.runs_plan(day=monday) == 0
    assert services.runs_plan(day=monday + timedelta(days=5)) == 2  # Saturday
    run = PatrolRun.objects.get(schedule=daily, date=monday)
    assert (run.window_start, run.window_end, run.status, run.expected) == (at(9), at(10), "planned", 3)
    assert PatrolRun.objects.count() == 3


def test_runs_plan_skips_inactive_routes_and_schedules(world):
    route = f.route(estate=world.a.estate)
    s = f.schedule(route=route)
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    services.schedule_update(actor=admin, schedule=s, active=False)

    assert services.runs_plan(day=DAY) == 0
    services.schedule_update(actor=admin, schedule=s, active=True)
    services.route_update(actor=admin, route=route, active=False)
    assert services.runs_plan(day=DAY) == 0


def test_plan_runs_job_plans_today_and_tomorrow(world):
    f.schedule(route=f.route(estate=world.a.estate))

    assert tasks.plan_runs(at(8)) == "planned 2 runs"
    assert tasks.plan_runs(at(8)) == "planned 0 runs"
    assert sorted(PatrolRun.objects.values_list("date", flat=True)) == [DAY, DAY + timedelta(days=1)]


def test_checkin_starts_the_run_and_completes_it_with_the_last_checkpoint(patrol):
    guard = actor_for_user(patrol.guard)

    first = services.checkin(actor=guard, code=patrol.cps[0].code, now=at(9, 5))
    patrol.run.refresh_from_db()
    assert (first.created, first.done, first.total, first.next_checkpoint) == (True, 1, 3, patrol.cps[1])
    assert (patrol.run.status, patrol.run.started_by, patrol.run.started_at) == (
        "in_progress",
        patrol.guard,
        at(9, 5),
    )

    services.checkin(actor=guard, code=patrol.cps[2].code, now=at(9, 10))
    last = services.checkin(actor=guard, code=patrol.cps[1].code, now=at(9, 20))
    patrol.run.refresh_from_db()
    assert (last.done, last.next_checkpoint) == (3, None)
    assert (patrol.run.status, patrol.run.checked, patrol.run.finished_at) == ("completed", 3, at(9, 20))


def test_duplicate_scan_returns_the_same_checkin(patrol):
    guard = actor_for_user(patrol.guard)
    first = services.checkin(actor=guard, code=patrol.cps[0].code, now=at(9, 5))

    again = services.checkin(actor=guard, code=patrol.cps[0].code, now=at(9, 7))

    assert (again.created, again.checkin.pk, again.checkin.at) == (False, first.checkin.pk, at(9, 5))
    assert CheckIn.objects.count() == 1


def test_duplicate_scan_after_completion_is_still_idempotent(patrol):
    guard = actor_for_user(patrol.guard)
    for i, cp in enumerate(patrol.cps):
        services.checkin(actor=guard, code=cp.code, now=at(9, 5 + i))

    again = services.checkin(actor=guard, code=patrol.cps[0].code, now=at(9, 30))

    assert again.created is False
    assert CheckIn.objects.count() == 3


def test_checkin_outside_the_window_is_409(patrol):
    guard = actor_for_user(patrol.guard)

    for moment in (at(8, 59), at(10, 1)):
        with pytest.raises(Conflict):
            services.checkin(actor=guard, code=patrol.cps[0].code, now=moment)
    assert CheckIn.objects.count() == 0


def test_checkin_with_unknown_or_revoked_code_is_404(patrol):
    guard = actor_for_user(patrol.guard)
    old = patrol.cps[0].code
    services.checkpoint_regenerate_code(actor=actor_for_user(patrol.admin), checkpoint=patrol.cps[0])

    for code in ("nope", old, "", "x" * 500):
        with pytest.raises(NotFound):
            services.checkin(actor=guard, code=code, now=at(9, 5))


def test_a_guard_of_estate_a_cannot_check_in_at_a_checkpoint_of_estate_b(patrol):
    with pytest.raises(NotFound):
        services.checkin(actor=actor_for_user(patrol.guard), code=patrol.b_cps[0].code, now=at(9, 5))
    assert CheckIn.objects.count() == 0


def test_checkin_needs_the_checkin_permission(patrol):
    with pytest.raises(PermissionDenied):
        services.checkin(actor=actor_for_user(patrol.admin), code=patrol.cps[0].code, now=at(9, 5))


def test_a_schedule_with_assigned_guards_refuses_other_guards(world):
    from linli.orgs.tests import factories as orgs_f

    other = orgs_f.staff(role=Role.GUARD, scope=[world.a.estate], username="guard2")
    route = f.route(estate=world.a.estate)
    f.schedule(route=route, guards=[world.a.staff[Role.GUARD]])
    services.runs_plan(day=DAY)

    with pytest.raises(Conflict):
        services.checkin(actor=actor_for_user(other), code=f.checkpoints(route)[0].code, now=at(9, 5))
    assert services.checkin(
        actor=actor_for_user(world.a.staff[Role.GUARD]), code=f.checkpoints(route)[0].code, now=at(9, 5)
    ).created


def test_manual_checkin_needs_a_note_and_is_marked_manual(patrol):
    guard = actor_for_user(patrol.guard)

    with pytest.raises(ValidationFailed):
        services.checkin_manual(actor=guard, run=patrol.run, checkpoint=patrol.cps[0], note=" ", now=at(9, 5))
    result = services.checkin_manual(
        actor=guard, run=patrol.run, checkpoint=patrol.cps[0], note="标签破损", now=at(9, 5)
    )

    assert (result.checkin.source, result.checkin.note) == ("manual", "标签破损")


def _notices():
    from linli.messaging.models import Message

    return list(Message.objects.order_by("pk").values_list("user__username", "category", "title"))


def test_detect_missed_marks_missed_and_partial_and_notifies_supervisors_once(patrol, world):
    guard = actor_for_user(patrol.guard)
    second = f.schedule(route=patrol.route, start=time(14, 0))
    services.runs_plan(day=DAY)
    services.checkin(actor=guard, code=patrol.cps[0].code, now=at(9, 5))  # morning run: 1 of 3

    with time_machine.travel(at(10, 5), tick=False):
        from django.utils import timezone

        summary = tasks.detect_missed(timezone.now())

    patrol.run.refresh_from_db()
    assert patrol.run.status == RunStatus.PARTIAL
    assert (patrol.run.checked, patrol.run.expected) == (1, 3)
    assert PatrolRun.objects.get(schedule=second, date=DAY).status == "planned"
    b_run = PatrolRun.objects.get(pk=patrol.b_run.pk)
    assert b_run.status == RunStatus.MISSED
    assert summary == "closed 2 runs: 0 completed, 1 partial, 1 missed; 2 notices"
    admin_a = world.a.staff[Role.PROPERTY_ADMIN].username
    admin_b = world.b.staff[Role.PROPERTY_ADMIN].username
    assert _notices() == [
        (admin_a, "patrol_missed", "漏巡：日常巡逻 03-10 09:00 有 2 个巡检点未签到"),
        (admin_b, "patrol_missed", "漏巡：乙巡逻 03-10 09:00 有 3 个巡检点未签到"),
    ]
    # Running the job again changes and sends nothing.
    assert tasks.detect_missed(at(10, 30)) == "closed 0 runs: 0 completed, 0 partial, 0 missed; 0 notices"
    assert len(_notices()) == 2


def test_detect_missed_leaves_runs_whose_window_is_still_open(patrol):
    assert services.runs_close_due(now=at(9, 59)).closed == 0
    patrol.run.refresh_from_db()
    assert patrol.run.status == "planned"


def test_a_completed_run_sends_no_notice(patrol, world):
    guard = actor_for_user(patrol.guard)
    for i, cp in enumerate(patrol.cps):
        services.checkin(actor=guard, code=cp.code, now=at(9, 5 + i))

    services.runs_close_due(now=at(10, 5))

    patrol.run.refresh_from_db()
    assert patrol.run.status == "completed"
    assert [n[0] for n in _notices()] == [world.b.staff[Role.PROPERTY_ADMIN].username]  # b's run was missed
