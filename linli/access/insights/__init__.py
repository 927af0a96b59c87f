"""Access events read by staff, flow and visitor analysis, and anomalies (security and care)."""
