"""The event bus: phases, order, isolation of on-commit handlers, recording, listing."""

from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import transaction

from linli.core import events


@dataclass(frozen=True)
class _Happened(events.Event):
    n: int


@pytest.fixture
def calls():
    seen: list[tuple[str, int]] = []

    def first(e):
        seen.append(("first", e.n))

    def second(e):
        seen.append(("second", e.n))

    def later(e):
        seen.append(("later", e.n))

    events.subscribe(_Happened, first)
    events.subscribe(_Happened, later, phase="on_commit")
    events.subscribe(_Happened, second)
    yield seen
    for h in (first, second, later):
        events.unsubscribe(_Happened, h)


@pytest.mark.django_db(transaction=True)
def test_in_transaction_handlers_run_at_once_in_order_and_on_commit_after_commit(calls):
    with transaction.atomic():
        events.publish(_Happened(1))
        assert calls == [("first", 1), ("second", 1)]
    assert calls == [("first", 1), ("second", 1), ("later", 1)]


@pytest.mark.django_db(transaction=True)
def test_on_commit_handlers_never_run_for_a_rolled_back_change(calls):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish(_Happened(2))
        raise RuntimeError("rolled back")
    assert calls == [("first", 2), ("second", 2)]


@pytest.mark.django_db(transaction=True)
def test_a_failing_on_commit_handler_is_isolated(calls, caplog):
    def broken(e):
        raise ValueError("boom")

    events.subscribe(_Happened, broken, phase="on_commit")
    try:
        with transaction.atomic():
            events.publish(_Happened(3))
    finally:
        events.unsubscribe(_Happened, broken)
    assert ("later", 3) in calls
    assert "boom" in caplog.text


def test_an_in_transaction_handler_error_reaches_the_publisher():
    def broken(e):
        raise ValueError("refused")

    events.subscribe(_Happened, broken)
    try:
        with pytest.raises(ValueError, match="refused"):
            events.publish(_Happened(4))
    finally:
        events.unsubscribe(_Happened, broken)


def test_subscribing_twice_is_one_subscription():
    def h(e):
        pass

    events.subscribe(_Happened, h)
    events.subscribe(_Happened, h)
    try:
        assert [s.handler for s in events.subscriptions()[_Happened]].count(h) == 1
    finally:
        events.unsubscribe(_Happened, h)


def test_only_event_types_can_be_subscribed_and_published():
    with pytest.raises(TypeError):
        events.subscribe(int, print)
    with pytest.raises(TypeError):
        events.publish(object())
    with pytest.raises(ValueError):
        events.subscribe(_Happened, print, phase="later")


def test_recording_collects_what_was_published():
    with events.recording() as seen:
        events.publish(_Happened(5))
    events.publish(_Happened(6))
    assert seen == [_Happened(5)]


def test_every_event_type_has_a_publisher_in_the_source():
    pubs = events.publishers()
    missing = [c.name() for c in events.event_types() if c.__name__ not in pubs]
    assert missing == []


def test_the_events_command_lists_types_publishers_and_subscribers(capsys):
    call_command("events")
    out = capsys.readouterr().out
    for cls in events.event_types():
        assert cls.name() in out


def test_publish_hands_back_what_in_transaction_handlers_returned():
    def counts(e):
        return e.n * 10

    def nothing(e):
        return None

    events.subscribe(_Happened, counts)
    events.subscribe(_Happened, nothing)
    try:
        assert events.publish(_Happened(7)) == [70]
    finally:
        events.unsubscribe(_Happened, counts)
        events.unsubscribe(_Happened, nothing)
