"""``linli events``: every event type, where it is published and who subscribes (ADR 0008)."""

from django.core.management.base import BaseCommand

from linli.core import events


class Command(BaseCommand):
    help = (
        "List every event type with its publishers (from the source) and subscribers (from AppConfig.ready)."
    )

    def handle(self, *args, **options):
        subs = events.subscriptions()
        pubs = events.publishers()
        for cls in events.event_types():
            self.stdout.write(cls.name())
            fields = ", ".join(f.name for f in cls.__dataclass_fields__.values())
            self.stdout.write(f"  fields: {fields}")
            for where in pubs.get(cls.__name__, []) or ["(no publisher)"]:
                self.stdout.write(f"  published at {where}")
            for sub in subs.get(cls, []) or []:
                self.stdout.write(f"  → {sub.handler_name} [{sub.phase}]")
            if not subs.get(cls):
                self.stdout.write("  → (no subscriber)")
