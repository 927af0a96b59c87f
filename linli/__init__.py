"""Linli 邻里 — open-source smart community platform."""

__version__ = "0.1.0"
