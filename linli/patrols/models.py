"""Models of the patrols app."""
