"""``flywheel demo``: records a few support-agent turns with signals and prints the store.

The full demo (a LangGraph agent, simulated users, several flywheel cycles with few-shot,
export, LoRA training and the gate) replaces this module's body when that work lands.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

_TURNS = [
    ("How do I reset my password?", "Open Settings > Security and click 'Reset password'.", "thumbs_up"),
    ("My card ending 4242 was charged twice, email me at jane.doe@example.com", "I've opened a refund request.", "copy"),
    ("Where is my parcel?", "I don't know.", "thumbs_down"),
    ("Can I change my delivery address?", "Yes, under Orders > Edit address, until it ships.", "thumbs_up"),
]


def run_demo(path: Path, *, phoenix: str | None = None, quick: bool = False, console: Any = None) -> dict[str, Any]:
    from rich.progress import track

    from .cli import render_stats
    from .flywheel import Flywheel
    from .records import Interaction, Step

    if path.exists():
        shutil.rmtree(path)
    overrides: dict[str, Any] = {}
    if phoenix:
        overrides["phoenix_endpoint"] = phoenix
    with Flywheel(path, **overrides) as fw:
        for i, (question, answer, signal) in enumerate(track(_TURNS, description="recording turns", console=console)):
            it = Interaction(input=question, output=answer, session_id=f"demo-{i % 2}", user_id=f"user-{i % 2}",
                             steps=[Step("llm", "demo-model", inputs=question, outputs=answer)])
            fw.record(it)
            fw.flush()
            fw.feedback(it.id, signal)
        fw.flush()
        data = fw.stats()
    render_stats(data)
    return data
