"""The one error tree of Perimeter.

    PerimeterError                    base of everything the project raises on purpose
    ├── ConfigError                   a setting, policy, rule file or target is invalid (exit 2)
    │   └── DetectorDefinitionError   a detector declaration is rejected at load time
    ├── SourceError                   a source could not be used as a whole (exit 1)
    │   ├── TargetNotFound            the directory, bucket or container does not exist
    │   ├── AuthError                 credentials missing, wrong or lacking permission
    │   └── EndpointUnreachable       the endpoint did not answer (DNS, refused, timeout)
    ├── ItemError                     one item could not be read or parsed; the scan goes on
    │   ├── ItemUnreadable            the connector could not fetch it (gone, denied, I/O)
    │   └── ExtractionError           the bytes could not be turned into text
    └── StoreError                    the database is unusable (locked, corrupt, newer schema)

Connectors translate vendor exceptions into these at their boundary; the CLI and the HTTP API map
them to exit codes and statuses in one place each.
"""

from __future__ import annotations


class PerimeterError(Exception):
    """Base class for errors Perimeter raises deliberately."""


class ConfigError(PerimeterError):
    """Invalid configuration: a setting, policy file, rule file or scan target."""


class DetectorDefinitionError(ConfigError):
    """A detector declaration (built-in or custom) failed validation."""


class SourceError(PerimeterError):
    """A source cannot be scanned at all."""


class TargetNotFound(SourceError):
    """The directory, bucket or container named by the target does not exist."""


class AuthError(SourceError):
    """Credentials are missing, invalid, or not allowed to do what the scan needs."""


class EndpointUnreachable(SourceError):
    """The endpoint did not answer: name resolution, connection refused or timeout."""


class ItemError(PerimeterError):
    """One item failed; it is recorded with this message and the scan continues."""


class ItemUnreadable(ItemError):
    """The connector could not fetch the item."""


class ExtractionError(ItemError):
    """The item's bytes could not be turned into text."""


class StoreError(PerimeterError):
    """The store cannot be opened or written."""
