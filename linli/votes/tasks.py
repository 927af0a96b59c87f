"""Periodic jobs of the votes app."""

from datetime import datetime, timedelta

from linli.core.periodic import periodic


@periodic("votes.close_due", every=timedelta(minutes=1))
def close_due(now: datetime) -> str:
    """Close open votes whose deadline has passed and freeze their results."""
    from linli.votes.services import votes_close_due

    return f"closed {votes_close_due(now=now)}"
