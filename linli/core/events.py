"""The event bus: how one app tells the others that something happened (ADR 0008).

An event is a frozen dataclass deriving from ``Event``, defined in the ``events.py`` of the app that
publishes it (the vendor adapters, a layer above devices, publish the canonical events of
``devices.events``: ADR 0009). Other apps subscribe in their ``AppConfig.ready``::

    # linli/people/events.py
    @dataclass(frozen=True)
    class PersonMovedOut(Event):
        person_id: int
        estate_id: int
        actor_user_id: int | None = None

    # linli/access/apps.py (ready)
    events.subscribe(PersonMovedOut, subscribers.on_person_moved_out)

    # linli/people/services.py
    events.publish(PersonMovedOut(person_id=p.pk, estate_id=e.pk))

Phases:
- ``in_transaction`` (default): the handler runs inside ``publish``, in the publisher's transaction.
  An exception aborts the publisher's change; use it when the reaction must be all-or-nothing with
  the change (revoking credentials when a person moves out).
- ``on_commit``: the handler runs after the publisher's outermost transaction commits (at once
  outside a transaction); a failing handler is logged and does not affect the others. Use it for
  side effects that must never run for a rolled-back change (messages, pushes, enqueued tasks).

Handlers run in subscription order. The publisher does not know its subscribers and never imports
them; subscribers import the event class from the publisher (dependencies point one way). Direct
calls stay for questions ("what is this person's scope?") and for commands one app gives another on
purpose; an event is for "this happened, whoever cares may react" (CONTRIBUTING.md).

``linli events`` lists every event type with its publishers (found in the source) and subscribers.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar

from django.db import transaction

logger = logging.getLogger("linli.events")

Phase = Literal["in_transaction", "on_commit"]
PHASES: tuple[str, ...] = ("in_transaction", "on_commit")


@dataclass(frozen=True)
class Event:
    """Base class of every event: subclasses are frozen dataclasses of plain values (ids, codes,
    datetimes), never model instances, so a handler reads fresh rows and an on-commit handler never
    sees a stale object."""

    @classmethod
    def name(cls) -> str:
        return f"{cls.__module__.removeprefix('linli.').removesuffix('.events')}.{cls.__qualname__}"


E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Subscription:
    event_type: type[Event]
    handler: Callable[[Event], object]
    phase: str

    @property
    def handler_name(self) -> str:
        h = self.handler
        return f"{getattr(h, '__module__', '?')}.{getattr(h, '__qualname__', repr(h))}"


_SUBSCRIPTIONS: dict[type[Event], list[Subscription]] = {}
_recorders: list[list[Event]] = []


def subscribe(
    event_type: type[E], handler: Callable[[E], object], *, phase: Phase = "in_transaction"
) -> None:
    """Call ``handler(event)`` whenever an event of ``event_type`` is published.

    Declared once per handler in the subscriber's ``AppConfig.ready``; subscribing the same handler
    twice (``ready`` run again in tests) is a no-op.
    """
    if not (isinstance(event_type, type) and issubclass(event_type, Event)):
        raise TypeError(f"{event_type!r} is not an Event subclass")
    if not dataclasses.is_dataclass(event_type) or not event_type.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"{event_type.__name__} must be a frozen dataclass")
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}")
    subs = _SUBSCRIPTIONS.setdefault(event_type, [])
    if any(s.handler == handler and s.phase == phase for s in subs):
        return
    subs.append(Subscription(event_type, handler, phase))


def unsubscribe(event_type: type[Event], handler: Callable) -> None:
    """Remove ``handler`` (tests only)."""
    subs = _SUBSCRIPTIONS.get(event_type, [])
    subs[:] = [s for s in subs if s.handler != handler]


def publish(event: Event, *, using: str | None = None) -> list[object]:
    """Deliver ``event`` to its subscribers: in-transaction handlers now, on-commit handlers after
    the surrounding transaction commits (each isolated: one failing is logged, the rest still run).

    Returns what the in-transaction handlers returned that is not None, in subscription order. Most
    publishers ignore it; a publisher that must answer its own caller with what was done uses it
    with a reply type defined beside the event (a device push answered with how many of its events
    were stored: ``devices.events.Tally``)."""
    if not isinstance(event, Event):
        raise TypeError(f"{event!r} is not an Event")
    for rec in _recorders:
        rec.append(event)
    replies: list[object] = []
    for sub in _SUBSCRIPTIONS.get(type(event), ()):
        if sub.phase == "in_transaction":
            reply = sub.handler(event)
            if reply is not None:
                replies.append(reply)
        else:
            transaction.on_commit(partial(_run_isolated, sub, event), using=using)
    return replies


def _run_isolated(sub: Subscription, event: Event) -> None:
    try:
        sub.handler(event)
    except Exception:
        logger.exception("event handler %s failed for %s", sub.handler_name, event)


def subscriptions() -> dict[type[Event], list[Subscription]]:
    """Every event type with its subscribers (a copy)."""
    return {t: list(subs) for t, subs in _SUBSCRIPTIONS.items()}


@contextlib.contextmanager
def recording() -> Iterator[list[Event]]:
    """Collect every event published inside the block (tests: "what did this service announce?")."""
    seen: list[Event] = []
    _recorders.append(seen)
    try:
        yield seen
    finally:
        _recorders.remove(seen)


def event_types() -> list[type[Event]]:
    """Every Event subclass defined in the code base (the ``events.py`` modules are imported)."""
    import importlib
    import pkgutil

    import linli

    for info in pkgutil.walk_packages(linli.__path__, "linli."):
        if info.name.endswith(".events") and ".tests" not in info.name:
            importlib.import_module(info.name)
    out: list[type[Event]] = []
    stack = list(Event.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls.__module__.startswith("linli.") and ".tests" not in cls.__module__:
            out.append(cls)
        stack.extend(cls.__subclasses__())
    return sorted(out, key=lambda c: c.name())


def publishers() -> dict[str, list[str]]:
    """Where each event is published: ``{event class name: ["linli/app/module.py:line", ...]}``, found
    by reading the source for ``publish(<EventClass>(...))`` calls (the wiring is listable without
    running anything)."""
    root = Path(__file__).resolve().parents[1]
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent)
        if "tests" in rel.parts or "migrations" in rel.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if "publish(" not in text:
            continue
        for node in ast.walk(ast.parse(text)):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            fn = node.func
            fname = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            arg = node.args[0]
            if fname == "publish" and isinstance(arg, ast.Call):
                inner = arg.func
                cname = inner.attr if isinstance(inner, ast.Attribute) else getattr(inner, "id", "")
                if cname:
                    found.setdefault(cname, []).append(f"{rel}:{node.lineno}")
    return found
