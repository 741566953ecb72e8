"""Implicit feedback signals: small, pure detectors over consecutive user turns.

The detectors take what the caller already has (texts, embeddings, time gaps, signal kinds) and
return a verdict with its evidence; they never load models or touch the store, so the worker can
run them in microseconds and tests can pin their behaviour.
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
    EscalationResult,
    RephraseConfig,
    RephraseDetector,
    RephraseResult,
)

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
    "EscalationConfig",
    "EscalationDetector",
    "EscalationResult",
    "RephraseConfig",
    "RephraseDetector",
    "RephraseResult",
]
