"""Connectors: one module per system; base.py holds the interface and registry."""
