"""flywheel-middleware: turn an agent's production traffic into better models.

The public surface is small: ``Flywheel`` (the facade), the record dataclasses, the config and
the errors. Integrations (``fw.langchain()``, ``fw.llamaindex(engine)``) and trainers are imported
lazily, so importing this package does not import a framework or torch.
"""

from .config import FlywheelConfig
from .errors import FlywheelError, RecordError, SignalError, StoreError, UnknownInteractionError
from .flywheel import Flywheel
from .records import SCHEMA_VERSION, Interaction, RoutingDecision, Signal, Step

__version__ = "0.1.0"

__all__ = [
    "SCHEMA_VERSION",
    "Flywheel",
    "FlywheelConfig",
    "FlywheelError",
    "Interaction",
    "RecordError",
    "RoutingDecision",
    "Signal",
    "SignalError",
    "Step",
    "StoreError",
    "UnknownInteractionError",
    "__version__",
]
