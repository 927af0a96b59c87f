"""Access points, policies with the holiday calendar, and the per-estate settings of entry and exit."""
