"""Access to the real engine for tests: ``tools/lib/engine_client.py``,
which the benchmarks use too."""
from engine_client import ENGINE_URL  # noqa: F401
from engine_client import REPO  # noqa: F401
from engine_client import api  # noqa: F401
from engine_client import ensure_engine  # noqa: F401
