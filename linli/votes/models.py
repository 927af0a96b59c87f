"""Models of the votes app."""
