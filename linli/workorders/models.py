"""Models of the workorders app."""
