"""Store, CLI, data map and (later) the HTTP service."""
