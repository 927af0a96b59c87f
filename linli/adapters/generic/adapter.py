"""Generic devices go straight through ``ingest`` with their (topic, payload) pairs."""

from __future__ import annotations

from linli.devices import ingest


def handle(pairs: list[tuple[str, bytes]]) -> ingest.IngestResult:
    return ingest.ingest(pairs, via="mqtt")
