"""The gate: access decisions, device authentication, offline uploads and vendor access events."""
