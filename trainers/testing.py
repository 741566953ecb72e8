"""Synthetic export directories in the format the export step writes (for tests, demos, benchmarks).

Why here and not in tests/: the CLI demo, the benchmarks and two test files need the same small,
realistic data set (system prompt, tool calls, categories) without waiting on a real export.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

_CITIES = ("Paris", "Rome", "Oslo", "Berlin", "Madrid", "Vienna")
_SYSTEM = {"role": "system", "content": "You are a helpful travel assistant."}


def _example(i: int) -> tuple[str, list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """(category, prompt messages, good reply, bad reply) for row ``i``: even rows call a tool."""
    city = _CITIES[i % len(_CITIES)]
    if i % 2 == 0:
        prompt = [_SYSTEM, {"role": "user", "content": f"What is the weather in {city}?"}]
        good = {"role": "assistant", "content": "", "tool_calls": [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": "get_weather", "arguments": json.dumps({"city": city})}}]}
        bad = {"role": "assistant", "content": "I cannot check the weather."}
        return "tool", prompt, good, bad
    prompt = [_SYSTEM, {"role": "user", "content": f"Name the capital city I mean: {city}."}]
    good = {"role": "assistant", "content": f"{city} is a capital city."}
    bad = {"role": "assistant", "content": "I do not know, sorry, maybe you could search the web for it."}
    return "chat", prompt, good, bad


def make_export(out_dir: str | Path, kind: str = "sft", n: int = 24, eval_n: int = 4) -> Path:
    """Write ``train.jsonl``/``eval.jsonl``/``manifest.json`` with ``n`` rows of ``kind`` (sft/dpo/kto).

    The last ``eval_n`` rows are the eval split. KTO rows alternate labels so both classes appear
    in every batch of 2+.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        category, prompt, good, bad = _example(i)
        meta = {"interaction_id": f"int-{i}", "category": category}
        if kind == "sft":
            rows.append({"messages": prompt + [good], "metadata": meta})
        elif kind == "dpo":
            rows.append({"prompt": prompt, "chosen": [good], "rejected": [bad], "metadata": meta})
        elif kind == "kto":
            desirable = (i // 2) % 2 == 0 or i >= n - eval_n
            rows.append({"prompt": prompt, "completion": [good if desirable else bad], "label": desirable,
                         "metadata": meta})
        else:
            raise ValueError(f"unknown kind {kind!r}")
    train, evals = rows[: n - eval_n], rows[n - eval_n:]
    for name, part in (("train.jsonl", train), ("eval.jsonl", evals)):
        (out / name).write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
    version = hashlib.sha256((out / "train.jsonl").read_bytes() + (out / "eval.jsonl").read_bytes()).hexdigest()[:16]
    manifest = {"version": version, "kind": kind, "counts": {"train": len(train), "eval": len(evals)},
                "interaction_ids": [r["metadata"]["interaction_id"] for r in rows], "created_by": "trainers.testing"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out


def write_regression_cases(path: str | Path) -> Path:
    """A small pinned regression-case JSONL (the shape ``load_cases`` reads)."""
    cases = [
        {"id": "reg-weather-lisbon", "category": "tool", "input": "What is the weather in Lisbon?",
         "expected_tool_calls": [{"name": "get_weather", "arguments": {"city": "Lisbon"}}]},
        {"id": "reg-capital-prague", "category": "chat", "input": "Name the capital city I mean: Prague.",
         "expected": "Prague is a capital city."},
    ]
    Path(path).write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    return Path(path)
