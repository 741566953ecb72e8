"""Small builders the tests share."""

from __future__ import annotations

from typing import Any

from flywheel_middleware import Interaction, RoutingDecision, Step


def turn(question: str, answer: str = "an answer", **kwargs: Any) -> Interaction:
    """A plain one-LLM-call interaction."""
    kwargs.setdefault("session_id", "s1")
    kwargs.setdefault("user_id", "u1")
    return Interaction(
        input=question,
        output=answer,
        steps=[Step("llm", "fake-model", inputs=[{"role": "user", "content": question}], outputs=answer)],
        decisions=[RoutingDecision("model", chosen="answer", candidates=["answer", "search"])],
        **kwargs,
    )


def traces(folder: Any, *needles: str) -> dict[str, list[str]]:
    """Which files under ``folder`` contain which needle (raw bytes, binary files included)."""
    from pathlib import Path

    found: dict[str, list[str]] = {}
    for path in Path(folder).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = [n for n in needles if n.encode() in data]
            if hits:
                found[str(path.relative_to(folder))] = hits
    return found
