"""Detectors, validators and the level policy."""

from classifiers.native import activate

activate(__path__, __name__)  # the compiled hot modules, when built from these sources
