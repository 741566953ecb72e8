"""Privacy: PII redaction applied before anything is stored, indexed or exported.

    from flywheel_middleware.privacy import Redactor, RedactionConfig
    r = Redactor(RedactionConfig(mode="pseudonym"))
    r.redact_batch(["Mail me at ann@example.com"], conversation="s1")  # ['Mail me at <EMAIL_ADDRESS_1>']
    r.redact_value({"tool": "crm", "args": {"email": "ann@example.com"}}, conversation="s1")

The engine is Presidio with an installed spaCy English NER model when there is one, else an
offline tokenizer-only pipeline plus the project's recognizers for names and street addresses.
``privacy.records`` says which fields of a record are redacted. Presidio is imported on first use
of ``Redactor``, not when the package is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .redaction import DEFAULT_ENTITIES, RedactionConfig, Redactor, Span

__all__ = ["DEFAULT_ENTITIES", "RedactionConfig", "Redactor", "Span"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import redaction

        return getattr(redaction, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
