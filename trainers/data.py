"""Reading an export directory and rendering its rows with the model's own chat template.

Why render here instead of handing TRL conversational rows: tool-call arguments are free-form
dicts, and Arrow (under ``datasets``) merges dict keys across rows, so ``{"city": "Paris"}`` would
come back as ``{"city": "Paris", "order_id": None}``. Rendering each row to text in Python with
``tokenizer.apply_chat_template`` keeps arguments exact, applies the template exactly once, and is
the same code path the evaluator uses to build generation prompts, so training and evaluation
see identical prompts. TRL then receives its *standard* formats (prompt/completion strings).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Message = dict[str, Any]


@dataclass
class ExportData:
    """An export directory: manifest plus train/eval rows (TRL conversational formats)."""

    path: Path
    manifest: dict[str, Any]
    train_rows: list[dict[str, Any]]
    eval_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def version(self) -> str:
        return str(self.manifest.get("version") or "")

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind") or "")


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file; blank lines are skipped, a bad line raises with its number."""
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON: {exc}") from None
    return rows


def write_jsonl(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write rows as JSONL (UTF-8, one object a line)."""
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def infer_kind(row: dict[str, Any]) -> str:
    """Which TRL format a row is in, from its keys."""
    if "chosen" in row and "rejected" in row:
        return "dpo"
    if "label" in row and "completion" in row:
        return "kto"
    if "messages" in row:
        return "sft"
    raise ValueError(f"cannot tell the dataset kind of a row with keys {sorted(row)}")


def load_export(data_dir: str | Path) -> ExportData:
    """Load ``train.jsonl``, ``eval.jsonl`` (optional) and ``manifest.json`` (optional).

    Without a manifest the version is a content hash of the files and the kind is inferred,
    so a hand-made directory still yields a traceable adapter.
    """
    path = Path(data_dir)
    train_file = path / "train.jsonl"
    if not train_file.exists():
        raise FileNotFoundError(f"{train_file} not found: expected an export directory with train.jsonl")
    train_rows = read_jsonl(train_file)
    eval_file = path / "eval.jsonl"
    eval_rows = read_jsonl(eval_file) if eval_file.exists() else []
    manifest_file = path / "manifest.json"
    manifest: dict[str, Any] = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.exists() else {}
    if not manifest.get("version"):
        digest = hashlib.sha256(train_file.read_bytes())
        if eval_file.exists():
            digest.update(eval_file.read_bytes())
        manifest["version"] = digest.hexdigest()[:16]
    if not manifest.get("kind"):
        manifest["kind"] = infer_kind(train_rows[0]) if train_rows else "sft"
    return ExportData(path=path, manifest=manifest, train_rows=train_rows, eval_rows=eval_rows)


def normalise_tool_calls(tool_calls: Any) -> list[dict[str, Any]]:
    """Tool calls in the Hugging Face chat-template shape ``{"type","function":{"name","arguments":dict}}``.

    Accepts OpenAI (``function.arguments`` as a JSON string), LangChain (``name``/``args``) and
    already-normalised forms.
    """
    out: list[dict[str, Any]] = []
    for tc in tool_calls or []:
        if not isinstance(tc, dict):
            continue
        fn = tc.get("function") if isinstance(tc.get("function"), dict) else tc
        name = fn.get("name") or ""
        args = fn.get("arguments", fn.get("args", {}))
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError:
                args = {"__raw__": args}
        call: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": args or {}}}
        if tc.get("id"):
            call["id"] = tc["id"]
        out.append(call)
    return out


def normalise_messages(messages: list[Message]) -> list[Message]:
    """Messages with string content and normalised tool calls (what chat templates expect)."""
    out: list[Message] = []
    for m in messages or []:
        content = m.get("content")
        if isinstance(content, list):  # multi-part content: keep the text parts
            content = "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
        msg: Message = {"role": m.get("role", "user"), "content": "" if content is None else str(content)}
        if m.get("tool_calls"):
            msg["tool_calls"] = normalise_tool_calls(m["tool_calls"])
        for key in ("name", "tool_call_id"):
            if m.get(key):
                msg[key] = m[key]
        out.append(msg)
    return out


def render_prompt(tokenizer: Any, messages: list[Message], tools: list[dict] | None = None) -> str:
    """The generation prompt for ``messages`` (chat template + assistant header)."""
    kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": True}
    if tools:
        kwargs["tools"] = tools
    return tokenizer.apply_chat_template(normalise_messages(messages), **kwargs)


def render_completion(tokenizer: Any, prompt: list[Message], reply: list[Message], tools: list[dict] | None = None) -> tuple[str, str]:
    """(prompt text, completion text) where prompt + completion is the rendered conversation.

    The completion is right-stripped so it ends with the template's end-of-turn token; TRL adds
    the EOS token only when it is missing, so no duplicate EOS is trained.
    """
    prompt_text = render_prompt(tokenizer, prompt, tools)
    kwargs: dict[str, Any] = {"tokenize": False}
    if tools:
        kwargs["tools"] = tools
    full = tokenizer.apply_chat_template(normalise_messages(prompt + reply), **kwargs)
    if not full.startswith(prompt_text):  # templates that rewrite earlier turns: split at the common prefix
        prompt_text = os.path.commonprefix([prompt_text, full])
    return prompt_text, full[len(prompt_text):].rstrip()


def split_sft_row(row: dict[str, Any]) -> tuple[list[Message], list[Message]]:
    """(prompt messages, [final assistant message]) of an SFT row: the last assistant turn is the target."""
    messages = row.get("messages") or []
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "assistant":
            return list(messages[:i]), [messages[i]]
    raise ValueError("an SFT row has no assistant message to learn")


def render_row(kind: str, row: dict[str, Any], tokenizer: Any) -> dict[str, Any]:
    """One export row as a TRL standard-format example (strings only)."""
    tools = row.get("tools")
    if kind == "sft":
        prompt, reply = split_sft_row(row)
        p, c = render_completion(tokenizer, prompt, reply, tools)
        return {"prompt": p, "completion": c}
    if kind == "dpo":
        p, chosen = render_completion(tokenizer, row["prompt"], row["chosen"], tools)
        _, rejected = render_completion(tokenizer, row["prompt"], row["rejected"], tools)
        return {"prompt": p, "chosen": chosen, "rejected": rejected}
    if kind == "kto":
        p, c = render_completion(tokenizer, row["prompt"], row["completion"], tools)
        return {"prompt": p, "completion": c, "label": bool(row["label"])}
    raise ValueError(f"unknown dataset kind {kind!r}")
