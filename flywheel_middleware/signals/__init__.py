"""Implicit feedback signals: small, pure detectors over a session's user turns.

The detectors take what the caller already has (texts, embeddings, time gaps, signal kinds, a
reference sample of past turns) and return a verdict with its evidence; they never run a neural
model or touch the store, so the worker can run them in microseconds and tests can pin their
behaviour. The rephrase detector's learned pair model is a small JSON file shipped in the package.
"""

from flywheel_middleware.signals.detectors import (
    FAILURE_SIGNALS,
    REPHRASE_FEATURES,
    SUCCESS_SIGNALS,
    AbandonmentConfig,
    AbandonmentResult,
    AbandonmentRule,
    CorrectionConfig,
    CorrectionDetector,
    CorrectionResult,
    EscalationConfig,
    EscalationDetector,
    EarlierTurn,
    EscalationResult,
    RephraseConfig,
    RephraseDetector,
    RephraseResult,
)
from flywheel_middleware.signals.pair_model import PairModel, ReferenceSample, load_pair_model

__all__ = [
    "FAILURE_SIGNALS",
    "REPHRASE_FEATURES",
    "SUCCESS_SIGNALS",
    "AbandonmentConfig",
    "AbandonmentResult",
    "AbandonmentRule",
    "CorrectionConfig",
    "CorrectionDetector",
    "CorrectionResult",
    "EarlierTurn",
    "EscalationConfig",
    "EscalationDetector",
    "EscalationResult",
    "PairModel",
    "ReferenceSample",
    "RephraseConfig",
    "RephraseDetector",
    "RephraseResult",
    "load_pair_model",
]
