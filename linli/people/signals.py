"""Signals other apps listen to (people never imports them)."""

from django.dispatch import Signal

# Sent inside the move-out transaction when a person has no current occupancy left in the estate.
# Arguments: ``person``, ``actor``.
person_moved_out = Signal()
