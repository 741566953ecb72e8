"""Building, redacting and serialising export rows (the part of an export that runs in workers).

Kept light so ``ProcessPoolExecutor`` workers (spawned, not forked) can import it cheaply: a
worker receives the store's location and the keys of the interactions with the rows to make of
them, reads the stored documents through its own read-only twin of the store
(``store.open_store(location, read_only=True)``), and returns finished JSONL lines.

Message shapes (TRL conversational; OpenAI chat for the tool-calling parts):

* ``{"role": "system" | "user" | "assistant" | "tool", "content": str}``;
* an assistant turn that calls tools carries ``tool_calls``:
  ``[{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}}]``
  with ``arguments`` a JSON *string*, as in OpenAI's format, so Arrow (``datasets``) never has
  to unify argument schemas across rows (``trainers.data.normalise_tool_calls`` parses it back);
* a tool result is ``{"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": str}``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Any, Mapping, Sequence

from .records import Interaction, text_of  # noqa: F401 - Interaction: the type build_rows documents

try:  # orjson is ~5x faster; the output is the same compact JSON either way
    import orjson as _orjson
except ImportError:  # pragma: no cover - optional speed-up
    _orjson = None

_ROLES = {"human": "user", "ai": "assistant", "AIMessageChunk": "assistant", "AIMessage": "assistant",
          "HumanMessage": "user", "SystemMessage": "system", "function": "tool", "ToolMessage": "tool",
          "chatbot": "assistant", "model": "assistant", "developer": "system"}
#: keys whose string values are identifiers or structure, not content: the redaction re-check skips them
_NOT_CONTENT = frozenset({"role", "type", "id", "tool_call_id", "interaction_id", "chosen_interaction_id",
                          "rejected_interaction_id", "source", "label", "model_version"})
_PLACEHOLDER = re.compile(r"<([A-Z][A-Z_]*?)(?:_\d+)?>")


def dumps(row: Any) -> str:
    """Compact JSON, UTF-8 kept (identical text with or without orjson)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(row).decode("utf-8")
        except TypeError:  # an int beyond 64 bits or a foreign object: fall back
            pass
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=repr)


def loads(text: str | bytes) -> Any:
    return _orjson.loads(text) if _orjson is not None else json.loads(text)


def digest(line: str) -> bytes:
    return hashlib.blake2b(line.encode("utf-8"), digest_size=16).digest()


def content_text(value: Any) -> str:
    """A message/tool payload as text: strings as they are, structured payloads as sorted JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(p, Mapping) and "text" in p for p in value):
        return "".join(str(p.get("text") or "") for p in value)  # multi-part content
    text = text_of(value)
    if text:
        return text
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def _role(raw: Any) -> str:
    role = str(raw or "user")
    return _ROLES.get(role, role)


def _as_messages(value: Any) -> list[dict[str, Any]] | None:
    """A list of role/content dicts (possibly nested one level, as LangChain batches are), or None."""
    if isinstance(value, Mapping) and isinstance(value.get("messages"), list):
        value = value["messages"]
    if not isinstance(value, list) or not value:
        return None
    if len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    if all(isinstance(m, Mapping) and ("role" in m or "type" in m) and "content" in m for m in value):
        return [dict(m) for m in value]
    return None


def system_prompt(it: Interaction) -> str | None:
    """The system message of the first LLM call that had one (or of the input conversation)."""
    for source in [it.input] + [s.inputs for s in it.steps if s.kind == "llm"]:
        msgs = _as_messages(source)
        for m in msgs or ():
            if _role(m.get("role") or m.get("type")) == "system":
                text = content_text(m.get("content"))
                if text.strip():
                    return text
    return None


def prompt_messages(it: Interaction, include_system: bool = True) -> list[dict[str, Any]]:
    """System (optional) + the user turn; a conversation input keeps its earlier turns."""
    out: list[dict[str, Any]] = []
    msgs = _as_messages(it.input)
    if msgs:
        for m in msgs:
            role = _role(m.get("role") or m.get("type"))
            if role not in ("system", "user", "assistant"):
                continue
            if role == "system" and not include_system:
                continue
            out.append({"role": role, "content": content_text(m.get("content"))})
        while out and out[-1]["role"] == "assistant":  # the prompt ends with the user's turn
            out.pop()
    if not out or out[-1]["role"] != "user":
        out.append({"role": "user", "content": it.input_text})
    if include_system and not any(m["role"] == "system" for m in out):
        system = system_prompt(it)
        if system:
            out.insert(0, {"role": "system", "content": system})
    return out


def _calls_of(output: Any) -> tuple[str, list[tuple[str | None, str, Any]]]:
    """(text content, [(call id, name, args)]) of an LLM step's output, whatever its shape."""
    items = output if isinstance(output, list) else [output]
    text, calls = "", []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        raw = item.get("tool_calls")
        if not raw and isinstance(item.get("additional_kwargs"), Mapping):
            raw = item["additional_kwargs"].get("tool_calls")
        if not raw and isinstance(item.get("message"), Mapping):
            sub_text, sub_calls = _calls_of(item["message"])
            text, calls = text or sub_text, calls + sub_calls
            continue
        for tc in raw or ():
            if not isinstance(tc, Mapping):
                continue
            fn = tc.get("function") if isinstance(tc.get("function"), Mapping) else tc
            name = fn.get("name") or tc.get("tool_name") or ""
            args = fn.get("arguments", fn.get("args", tc.get("kwargs", {})))
            calls.append((tc.get("id") or tc.get("tool_id"), str(name), args))
        if raw:
            text = text or content_text(item.get("content"))
    return text, calls


def _arguments(args: Any) -> str:
    """Tool-call arguments as the JSON string OpenAI's format uses (keys sorted: stable versions)."""
    if isinstance(args, str):
        try:
            return json.dumps(json.loads(args), ensure_ascii=False, sort_keys=True)
        except ValueError:
            return json.dumps({"input": args}, ensure_ascii=False)
    if args is None:
        return "{}"
    if not isinstance(args, Mapping):
        args = {"input": args}
    return json.dumps(args, ensure_ascii=False, sort_keys=True, default=repr)


def trajectory_messages(it: Interaction) -> list[dict[str, Any]]:
    """The tool-calling part of a turn: assistant ``tool_calls`` turns, each followed by its tool results.

    Built from the LLM steps' outputs (the calls the model made) and the tool steps (their
    inputs and outputs), matched by tool-call id, else by name in order. Without LLM steps that
    show calls, the model's routing decisions (``decider="model"``, ``chosen`` = tool names)
    stand in; tool steps nothing accounts for get a synthesised call.
    """
    tool_steps = [s for s in it.steps if s.kind == "tool"]
    used: set[int] = set()
    out: list[dict[str, Any]] = []
    n = 0

    def match(call_id: Any, name: str) -> int | None:
        for i, step in enumerate(tool_steps):
            if i not in used and call_id and (step.metadata or {}).get("tool_call_id") == call_id:
                return i
        for i, step in enumerate(tool_steps):
            if i not in used and step.name == name:
                return i
        return None

    def emit(text: str, calls: list[tuple[Any, str, Any]]) -> None:
        nonlocal n
        message: dict[str, Any] = {"role": "assistant", "content": text or "", "tool_calls": []}
        results = []
        for call_id, name, args in calls:
            n += 1
            cid = str(call_id) if call_id else f"call_{n}"
            idx = match(call_id, name)
            step = tool_steps[idx] if idx is not None else None
            if (args is None or args == {}) and step is not None:
                args = step.inputs
            message["tool_calls"].append({"id": cid, "type": "function", "function": {"name": name, "arguments": _arguments(args)}})
            if step is not None:
                used.add(idx)  # type: ignore[arg-type]
                result = f"Error: {step.error}" if step.error and step.outputs is None else content_text(step.outputs)
            else:
                result = ""
            results.append({"role": "tool", "tool_call_id": cid, "name": name, "content": result})
        out.append(message)
        out.extend(results)

    llm_calls = [(_calls_of(s.outputs)) for s in it.steps if s.kind == "llm"]
    if any(calls for _, calls in llm_calls):
        for text, calls in llm_calls:
            if calls:
                emit(text, calls)
    else:
        for d in it.decisions:
            if d.decider != "model" or not isinstance(d.chosen, list) or not d.chosen:
                continue
            ids = list((d.metadata or {}).get("tool_call_ids") or [])
            args = list((d.metadata or {}).get("args") or [])
            emit("", [(ids[j] if j < len(ids) else None, str(name), args[j] if j < len(args) else None)
                      for j, name in enumerate(d.chosen)])
    leftovers = [i for i in range(len(tool_steps)) if i not in used]
    for i in leftovers:
        if i in used:
            continue
        step = tool_steps[i]
        emit("", [(step.metadata.get("tool_call_id") if step.metadata else None, step.name, step.inputs)])
    return out


def openai_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The OpenAI chat fine-tuning shape: no ``name`` on tool results, no content on tool-call turns."""
    out = []
    for m in messages:
        role = m["role"]
        if role == "tool":
            out.append({"role": "tool", "tool_call_id": m.get("tool_call_id"), "content": m.get("content") or ""})
        elif role == "assistant" and m.get("tool_calls"):
            msg: dict[str, Any] = {"role": "assistant", "tool_calls": [dict(tc) for tc in m["tool_calls"]]}
            if m.get("content"):
                msg["content"] = m["content"]
            out.append(msg)
        else:
            out.append({"role": role, "content": m.get("content") or ""})
    return out


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def openai_tools(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Function definitions for the tools a conversation calls, their parameters inferred from the calls."""
    tools: dict[str, dict[str, Any]] = {}
    for m in messages:
        for tc in m.get("tool_calls") or ():
            fn = tc["function"]
            try:
                args = json.loads(fn["arguments"])
            except (ValueError, TypeError):
                args = {}
            spec = tools.setdefault(fn["name"], {"type": "function", "function": {
                "name": fn["name"], "parameters": {"type": "object", "properties": {}}}})
            props = spec["function"]["parameters"]["properties"]
            for key, value in (args.items() if isinstance(args, dict) else ()):
                props.setdefault(key, {"type": _json_type(value)})
    return [tools[name] for name in sorted(tools)]


# -- rows ------------------------------------------------------------------------------------------
def _metadata(it: Interaction, spec: Mapping[str, Any], kind: str) -> dict[str, Any]:
    md = {
        "interaction_id": it.id,
        "category": spec["category"],
        "source": spec["source"],
        "label": spec["label"],
        "reward": float(spec["reward"]),
        "confidence": float(spec["confidence"]),
        "model_version": it.model_version,
        "started_at": float(it.started_at),
    }
    if kind == "dpo":
        md["chosen_interaction_id"] = spec.get("chosen_id")
        md["rejected_interaction_id"] = spec.get("rejected_id")
        md["pair_similarity"] = None if spec.get("similarity") is None else float(spec["similarity"])
    return md


def build_rows(kind: str, it: Interaction, specs: Sequence[Mapping[str, Any]], include_system: bool) -> list[tuple[Mapping[str, Any], dict[str, Any]]]:
    """The export rows ``specs`` ask for from one stored interaction: [(spec, row)]."""
    out = []
    prompt = prompt_messages(it, include_system)
    trajectory: list[dict[str, Any]] | None = None
    for spec in specs:
        source = spec["source"]
        own_answer = source in ("good", "bad", "correction", "rephrase")
        if own_answer and trajectory is None:
            trajectory = trajectory_messages(it)
        context = prompt + (trajectory or []) if own_answer else prompt
        if kind == "sft":
            answer = spec.get("edited") if source in ("correction", "rephrase") else it.output_text
            row = {"messages": context + [{"role": "assistant", "content": answer or ""}]}
        elif kind == "kto":
            answer = spec.get("edited") if source in ("correction", "rephrase") else it.output_text
            row = {"prompt": context, "completion": [{"role": "assistant", "content": answer or ""}], "label": bool(spec["desirable"])}
        elif kind == "dpo":
            chosen = spec["chosen"]
            rejected = spec["rejected"] if spec.get("rejected") is not None else it.output_text
            row = {"prompt": context, "chosen": [{"role": "assistant", "content": chosen or ""}],
                   "rejected": [{"role": "assistant", "content": rejected or ""}]}
        else:
            raise ValueError(f"unknown dataset kind {kind!r}")
        row["metadata"] = _metadata(it, spec, kind)
        out.append((spec, row))
    return out


# -- redaction re-check --------------------------------------------------------------------------------
def _collect(obj: Any, out: list[str], key: str | None = None) -> None:
    if isinstance(obj, str):
        if key not in _NOT_CONTENT:
            out.append(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _collect(v, out, k)
    elif isinstance(obj, list):
        for v in obj:
            _collect(v, out, key)


def _rebuild(obj: Any, it: Any, key: str | None = None) -> Any:
    if isinstance(obj, str):
        return next(it) if key not in _NOT_CONTENT else obj
    if isinstance(obj, dict):
        return {k: _rebuild(v, it, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rebuild(v, it, key) for v in obj]
    return obj


def _audited(interaction_id: str, fraction: float) -> bool:
    """A deterministic sample of already-clean rows that is analysed again anyway."""
    if fraction <= 0:
        return False
    digest = hashlib.blake2b(interaction_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


class RedactionStats:
    def __init__(self) -> None:
        self.rows_verified = 0  # stamped with the current fingerprint and not in the audit sample
        self.rows_checked = 0
        self.strings_checked = 0
        self.rows_changed = 0
        self.strings_changed = 0
        self.entities: Counter[str] = Counter()

    def add(self, other: Mapping[str, Any]) -> None:
        self.rows_verified += other.get("rows_verified_by_stamp", 0)
        self.rows_checked += other["rows_checked"]
        self.strings_checked += other["strings_checked"]
        self.rows_changed += other["rows_changed"]
        self.strings_changed += other["strings_changed"]
        self.entities.update(other["entities"])

    def to_dict(self) -> dict[str, Any]:
        return {"rows_verified_by_stamp": self.rows_verified, "rows_checked": self.rows_checked, "strings_checked": self.strings_checked,
                "rows_changed": self.rows_changed, "strings_changed": self.strings_changed,
                "entities": dict(sorted(self.entities.items()))}


def recheck(rows: list[dict[str, Any]], redactor: Any, conversations: Sequence[str | None], stats: RedactionStats,
            cache: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run the redactor over every content string of ``rows`` once more (a last line of defence).

    Strings seen before in this export (system prompts, repeated tool results) are looked up in
    ``cache`` instead of being analysed again. Pseudonym mode keeps one table per conversation.
    """
    per_row: list[list[str]] = []
    for row in rows:
        strings: list[str] = []
        _collect(row, strings)
        per_row.append(strings)
    pseudonym = getattr(getattr(redactor, "config", None), "mode", "placeholder") == "pseudonym"
    cache = {} if cache is None or pseudonym else cache
    groups: dict[str | None, list[int]] = {}
    for i, conv in enumerate(conversations):
        groups.setdefault(conv if pseudonym else None, []).append(i)
    redacted: list[list[str]] = [[] for _ in rows]
    for conv, members in groups.items():
        todo = list(dict.fromkeys(s for i in members for s in per_row[i] if s not in cache and s.strip()))
        if todo:
            for before, after in zip(todo, redactor.redact_batch(todo, conversation=conv)):
                cache[before] = after
        for i in members:
            redacted[i] = [cache.get(s, s) for s in per_row[i]]
    if len(cache) > 200_000:
        cache.clear()
    out = []
    for row, before, after in zip(rows, per_row, redacted):
        stats.rows_checked += 1
        stats.strings_checked += len(before)
        changed = [(b, a) for b, a in zip(before, after) if b != a]
        if not changed:
            out.append(row)
            continue
        stats.rows_changed += 1
        stats.strings_changed += len(changed)
        for b, a in changed:
            new = Counter(_PLACEHOLDER.findall(a))
            new.subtract(Counter(_PLACEHOLDER.findall(b)))
            stats.entities.update({k: v for k, v in new.items() if v > 0})
        out.append(_rebuild(row, iter(after)))
    return out


# -- a worker's unit of work ---------------------------------------------------------------------------
class View:
    """Attribute access over a stored interaction's JSON (what ``Interaction.from_dict`` would give,
    without validating and copying every step: ~50 us a row saved on a million-row export)."""

    __slots__ = ("_d", "steps", "decisions")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._d = data
        self.steps = [_Part(s) for s in data.get("steps") or ()]
        self.decisions = [_Part(d) for d in data.get("decisions") or ()]

    def __getattr__(self, name: str) -> Any:
        return self._d.get(name)

    @property
    def input_text(self) -> str:
        return text_of(self._d.get("input"))

    @property
    def output_text(self) -> str:
        return text_of(self._d.get("output"))

    @property
    def started_at(self) -> float:
        return float(self._d.get("started_at") or 0.0)


class _Part:
    __slots__ = ("_d",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._d = data

    def __getattr__(self, name: str) -> Any:
        value = self._d.get(name)
        return {} if value is None and name == "metadata" else value


_WORKER_REDACTOR: Any = None
_WORKER_CACHE: dict[str, str] = {}
_STORES: dict[str, Any] = {}  # location -> this process's read-only twin of the store


def init_worker(redaction: Mapping[str, Any] | None, threads: int = 1) -> None:
    """ProcessPool initializer: one redactor per worker, warmed up before the first batch."""
    global _WORKER_REDACTOR
    import os

    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if redaction is None:
        return
    from .privacy import RedactionConfig, Redactor

    _WORKER_REDACTOR = Redactor(RedactionConfig(**dict(redaction)))
    _WORKER_REDACTOR.warmup()


def _reader(location: str) -> Any:
    store = _STORES.get(location)
    if store is None:
        from .store import open_store

        store = _STORES[location] = open_store(location, read_only=True)
    return store


Line = tuple[str, str, "str | None", str, str, str]


def materialize(task: tuple[str, str, bool, bool, list[tuple[int, list[dict[str, Any]]]]],
                redactor: Any = None, cache: dict[str, str] | None = None) -> tuple[list[Line], dict[str, Any], list[tuple[str, str | None]]]:
    """Turn stored interactions into finished JSONL lines (runs in a worker process or inline).

    ``task`` = (store location, kind, include_system, openai, items, recheck_all, audit_fraction)
    with items ``(key, specs)``;
    the interactions are read here, so only keys and specs cross the process boundary.
    Returns ``([(split, line, openai_line, category, source, count_label)], redaction stats,
    [(interaction id, user id)])`` in key order.
    """
    location, kind, include_system, openai, items, recheck_all, audit_fraction = task
    redactor = redactor if redactor is not None else _WORKER_REDACTOR
    fingerprint = redactor.fingerprint() if redactor is not None and hasattr(redactor, "fingerprint") else None
    cache = cache if cache is not None else _WORKER_CACHE
    stored = _reader(location).documents([k for k, _ in items])
    built: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    conversations: list[str | None] = []
    needs_check: list[bool] = []
    members: list[tuple[str, str | None]] = []
    for key, specs in items:
        doc = stored.get(int(key))
        if doc is None:  # erased since the selection pass: it is simply not exported
            continue
        iid, user, session = doc.id, doc.user_id, doc.session_id
        members.append((iid, user))
        it = View(doc.data)
        # stored under the current redaction fingerprint: already clean, so only an audit sample
        # is analysed again; anything else (older config, other engine, unstamped) is re-checked
        stamp = (it.metadata or {}).get("flywheel.redaction")
        check = recheck_all or stamp is None or stamp != fingerprint or _audited(iid, audit_fraction)
        for spec, out_row in build_rows(kind, it, specs, include_system):
            built.append((spec, out_row))
            conversations.append(session)
            needs_check.append(check)
    stats = RedactionStats()
    rows = [r for _, r in built]
    if redactor is not None:
        todo = [i for i, check in enumerate(needs_check) if check]
        checked = recheck([rows[i] for i in todo], redactor, [conversations[i] for i in todo], stats, cache)
        for i, row in zip(todo, checked):
            rows[i] = row
        stats.rows_verified = len(rows) - len(todo)
    out = []
    for (spec, _), row in zip(built, rows):
        line = dumps(row)
        oa = None
        if openai and kind == "sft":
            oa_row: dict[str, Any] = {"messages": openai_messages(row["messages"])}
            tools = openai_tools(row["messages"])
            if tools:
                oa_row["tools"] = tools
            oa = dumps(oa_row)
        out.append((spec["split"], line, oa, spec["category"], spec["source"], spec["count_label"]))
    return out, stats.to_dict(), members
