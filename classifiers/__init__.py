"""Detectors, validators and the level policy."""
