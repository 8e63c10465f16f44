"""Limits on what one item may cost to extract: a hostile file hits one of these, not the heap.

Every limit is per item (the object the connector read, with everything nested inside it).
Hitting one marks the item ``partial`` (what was read so far is classified) or ``skipped`` with
the reason; see docs/extraction.md.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.errors import ConfigError

MiB = 1024 * 1024


class ExtractLimits(BaseModel):
    """Configurable bounds on extraction; the defaults suit a laptop scanning user files."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decompressed_bytes: int = Field(default=128 * MiB, ge=1)  # all members of an item together
    member_bytes: int = Field(default=16 * MiB, ge=1)  # one archive member or attachment
    compression_ratio: int = Field(default=200, ge=1)  # decompressed / compressed, per member
    depth: int = Field(default=10, ge=0)  # containers inside containers (zip in zip in ...)
    members: int = Field(default=10_000, ge=1)  # archive members and email parts per item
    pages: int = Field(default=500, ge=1)  # PDF pages and presentation slides per item
    cells: int = Field(default=1_000_000, ge=1)  # spreadsheet and CSV cells per item
    seconds: float = Field(default=60.0, gt=0)  # wall time to extract and classify one item

    @classmethod
    def from_pairs(cls, pairs: list[str]) -> ExtractLimits:
        """``["depth=5", "seconds=30"]`` (the CLI's ``--limit``) -> limits; unknown names or bad
        values are a ConfigError."""
        values: dict[str, str] = {}
        for pair in pairs:
            name, eq, value = pair.partition("=")
            name = name.strip().replace("-", "_")
            if not eq or name not in cls.model_fields:
                known = ", ".join(cls.model_fields)
                raise ConfigError(f"--limit {pair!r}: expected NAME=VALUE, NAME one of {known}")
            values[name] = value.strip()
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ConfigError(f"--limit {first['loc'][0]}: {first['msg']}") from exc
