"""Framework adapters: they translate a framework's events into flywheel records and spans.

Installed as ``flywheel_middleware.adapters``; always import through that name.  Each adapter
imports its framework when it is imported itself, and the core imports an adapter only when the
user asks for it (``fw.langchain()``, ``fw.llamaindex(...)``), so ``import flywheel_middleware``
never pulls a framework in.
"""
