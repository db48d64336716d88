"""Every table of the store, registered with SQLModel's metadata: the core tables and those of
each capability. `db` imports this module to create or check a store."""

from agent_console.models import (
    hall_tables,  # noqa: F401
    outage_tables,  # noqa: F401
    supervisor_tables,  # noqa: F401
    tables,  # noqa: F401
    training_tables,  # noqa: F401
)
