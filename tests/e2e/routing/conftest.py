"""The integration fixtures (real echo backends, the gateway on free ports) serve here too."""

from tests.integration.routing.conftest import (  # noqa: F401 -- fixtures are used by name
    backends,
    client,
    start_gateway,
    table_file,
)
