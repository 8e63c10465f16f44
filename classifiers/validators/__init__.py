"""Validators: pure functions ``value -> bool`` that a detector names in its declaration.

One explicit table built from the modules below; a name defined twice is an error at import.
"""

from __future__ import annotations

from collections.abc import Callable

from classifiers.native import activate

activate(__path__, __name__)  # before its modules are imported (classifiers/native.py)

from classifiers.validators import pii, pii_ids, secrets  # noqa: E402

Validator = Callable[[str], bool]


def _merge(*tables: dict[str, Validator]) -> dict[str, Validator]:
    merged: dict[str, Validator] = {}
    for table in tables:
        for name, fn in table.items():
            if name in merged:
                raise RuntimeError(f"validator {name!r} is defined twice")
            merged[name] = fn
    return merged


VALIDATORS: dict[str, Validator] = _merge(pii.VALIDATORS, pii_ids.VALIDATORS, secrets.VALIDATORS)

# Validators that cost about what a memo lookup and store cost (one anchored match or a few
# slices on a short value: 0.6-0.9 us, measured on log timestamps and addresses), run on
# values that logs rarely repeat exactly (timestamps to the second, addresses from large
# pools): remembering their results costs more than it saves.
UNMEMOISED = frozenset({"ip_address", "calendar_date"})
