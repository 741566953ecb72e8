"""flywheel-middleware: turn an agent's production traffic into better models.

The public surface is small: ``Flywheel`` (the facade), the record dataclasses, the config and
the errors. Integrations (``fw.langchain()``, ``fw.llamaindex(engine)``) and trainers are imported
lazily, so importing this package does not import a framework or torch.
"""

from .config import FlywheelConfig
from .errors import (
    ConfigError,
    CurationError,
    ExportError,
    FlywheelError,
    MissingExtraError,
    QueueFull,
    RecordError,
    SignalError,
    SplitError,
    StoreBusyError,
    StoreError,
    StoreUnavailableError,
    TrainingError,
    UnknownInteractionError,
    UnknownModelError,
)
from .flywheel import Flywheel
from .records import SCHEMA_VERSION, Interaction, RoutingDecision, Signal, Step

__version__ = "0.1.0"

__all__ = [
    "SCHEMA_VERSION",
    "ConfigError",
    "CurationError",
    "ExportError",
    "Flywheel",
    "FlywheelConfig",
    "FlywheelError",
    "Interaction",
    "MissingExtraError",
    "QueueFull",
    "RecordError",
    "RoutingDecision",
    "Signal",
    "SignalError",
    "SplitError",
    "Step",
    "StoreBusyError",
    "StoreError",
    "StoreUnavailableError",
    "TrainingError",
    "UnknownInteractionError",
    "UnknownModelError",
    "__version__",
]
