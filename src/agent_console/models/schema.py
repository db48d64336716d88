"""Every table of the store, registered with SQLModel's metadata: the core tables and those of
each capability. `db` imports this module to create or check a store."""

from agent_console.models import tables  # noqa: F401
from agent_console.models import hall_tables  # noqa: F401
from agent_console.models import outage_tables  # noqa: F401
from agent_console.models import training_tables  # noqa: F401
from agent_console.models import supervisor_tables  # noqa: F401
