"""Periodic jobs of the parking app: retention purges (R64) and permit expiry."""

from datetime import datetime, timedelta

from django.utils import timezone

from linli.core.periodic import periodic


@periodic("parking.purge_passages", every=timedelta(hours=6))
def purge_passages(now: datetime) -> str:
    """Plate events older than 180 days; settled sessions that left more than 180 days ago."""
    from linli.parking.services import purge_passages as purge

    counts = purge(now=now)
    return f"events {counts['events']}, sessions {counts['sessions']}"


@periodic("parking.purge_pictures", every=timedelta(hours=1))
def purge_pictures(now: datetime) -> str:
    """Plate picture references older than 30 days."""
    from linli.parking.services import purge_pictures as purge

    return f"cleared {purge(now=now)}"


@periodic("parking.purge_records", every=timedelta(days=1))
def purge_records(now: datetime) -> str:
    """Block-list rows and permits ended more than a year ago."""
    from linli.parking.services import purge_records as purge

    counts = purge(now=now)
    return f"blocked {counts['blocked']}, permits {counts['permits']}"


@periodic("parking.permits_expire", every=timedelta(hours=1))
def permits_expire(now: datetime) -> str:
    """Mark permits whose last day has passed expired."""
    from linli.parking.services import permits_expire as expire

    return f"expired {expire(today=timezone.localtime(now).date())}"
