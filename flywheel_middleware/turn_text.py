"""The turn's text: what the user asked and what the agent answered, as plain strings.

Frameworks hand the middleware the root input and output as whatever the app passed: a string, a
prompt-variable mapping under any key (``{"q": ...}``, ``{"customer_message": ...}``), a message
list, a LangGraph state, a number, an object. The detectors, the vector index, few-shot and the
exports need the user's words, so every turn gets a :class:`TurnText`, found in this order:

input
    1. ``root``: the root input when its text is recognisable (a string; a message or message list:
       the last human message; a mapping with a well-known key such as ``input``, ``question``,
       ``query``, ``messages``);
    2. ``llm``: else the last human message of the turn's first LLM call (the prompt the model saw)
       -- except that when exactly one string value of the input mapping appears verbatim inside it,
       that value is taken (the user's words without the prompt template's);
    3. ``value``: else the single string value of the input mapping;
    4. ``rendering``: else a compact ``key: value`` rendering of it (numbers as themselves);
    5. ``empty``: nothing readable (``None``, an object with only a default repr).

output
    the same with the root output, the final AI message of the turn's *last* LLM call, ...

Nothing here imports a framework: messages are read by shape (``role``/``type`` + ``content``,
LangChain message objects, ``("user", "...")`` tuples, LlamaIndex ``ChatMessage``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["TEXT_SOURCES", "TurnText", "input_text_of", "output_text_of", "text_of", "turn_text"]

TEXT_SOURCES: tuple[str, ...] = ("root", "llm", "value", "rendering", "empty")

_INPUT_KEYS = ("input", "query", "question", "message", "prompt", "content", "text", "user_input", "messages")
_OUTPUT_KEYS = ("output", "answer", "response", "result", "generation", "content", "text", "message", "messages")
_ANY_KEYS = ("content", "text", "input", "query", "question", "output", "answer", "response", "result")
_HUMAN = frozenset(("user", "human", "HumanMessage", "HumanMessageChunk"))
_AI = frozenset(("assistant", "ai", "AIMessage", "AIMessageChunk", "model"))
_ROLES = _HUMAN | _AI | frozenset(("system", "tool", "function", "developer", "chatbot"))
_MAX_RENDER = 2000


@dataclass(slots=True)
class TurnText:
    """The text of one turn. ``input_from`` / ``output_from`` say which rule found it (``TEXT_SOURCES``)."""

    input: str = ""
    output: str = ""
    input_from: str = "empty"
    output_from: str = "empty"

    def to_dict(self) -> dict[str, str]:
        return {"input": self.input, "output": self.output, "input_from": self.input_from, "output_from": self.output_from}

    @classmethod
    def from_dict(cls, data: Any) -> TurnText | None:
        if not isinstance(data, Mapping):
            return None
        def s(key: str, default: str) -> str:
            v = data.get(key)
            return v if isinstance(v, str) else default
        return cls(s("input", ""), s("output", ""), s("input_from", "empty"), s("output_from", "empty"))


def turn_text(it: Any) -> TurnText:
    """The :class:`TurnText` of an interaction-like object (``input``, ``output``, ``steps``)."""
    steps = getattr(it, "steps", None) or ()
    inp, inp_from = input_text_of(getattr(it, "input", None), steps)
    out, out_from = output_text_of(getattr(it, "output", None), steps)
    return TurnText(inp, out, inp_from, out_from)


def input_text_of(value: Any, steps: Sequence[Any] = ()) -> tuple[str, str]:
    """``(text, rule)`` for a root input, with the turn's steps for the LLM fallback."""
    text = _recognised(value, _INPUT_KEYS, human=True)
    if text:
        return text, "root"
    prompt = _llm_text(steps, first=True)
    if prompt:
        own = [v for v in _string_values(value) if v in prompt]
        return (own[0], "llm") if len(own) == 1 else (prompt, "llm")
    return _fallback(value)


def output_text_of(value: Any, steps: Sequence[Any] = ()) -> tuple[str, str]:
    """``(text, rule)`` for a root output, with the turn's steps for the LLM fallback."""
    text = _recognised(value, _OUTPUT_KEYS, human=False)
    if text:
        return text, "root"
    answer = _llm_text(steps, first=False)
    if answer:
        return answer, "llm"
    return _fallback(value)


def text_of(value: Any) -> str:
    """The human-readable text of any payload (str, message dicts, LangChain-like objects), or ``""``.

    Role-agnostic: a conversation's last message with text, a mapping's well-known key, a
    message's content. For the text of a *turn* use :func:`turn_text`.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in _ANY_KEYS:
            if key in value and value[key] is not None:
                return text_of(value[key])
        if "messages" in value:
            return text_of(value["messages"])
        return ""
    if isinstance(value, (list, tuple)):
        if _is_role_tuple(value):
            return _content_text(value[1])
        for item in reversed(value):
            text = text_of(item)
            if text:
                return text
        return ""
    content = getattr(value, "content", None)
    if content is not None:
        return _content_text(content)
    return _object_text(value)


# -- recognising text ---------------------------------------------------------------------------


def _recognised(value: Any, keys: tuple[str, ...], *, human: bool) -> str:
    """The text of ``value`` when its shape says where it is, else ``""``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value if value.strip() else ""
    if isinstance(value, Mapping):
        if _is_message(value):
            return _content_text(value.get("content"))
        for key in keys:
            if key in value and value[key] is not None:
                inner = value[key]
                text = _messages_text(inner, human) if key == "messages" else _recognised(inner, keys, human=human)
                if text:
                    return text
        return ""
    if isinstance(value, (list, tuple)):
        return _messages_text(value, human)
    if _is_message(value):
        return _content_text(getattr(value, "content", None))
    for attr in ("query_str", "text"):  # LlamaIndex QueryBundle, documents
        inner = getattr(value, attr, None)
        if isinstance(inner, str) and inner.strip():
            return inner
    as_map = _as_mapping(value)
    return _recognised(as_map, keys, human=human) if as_map is not None else ""


def _messages_text(messages: Any, human: bool) -> str:
    """The last human (or AI) message with text; a bare string in a message list is a human turn."""
    if isinstance(messages, str):
        return messages if human and messages.strip() else ""
    if _is_message(messages) or _is_role_tuple(messages):
        messages = [messages]
    if not isinstance(messages, (list, tuple)):
        return ""
    if messages and all(isinstance(m, (list, tuple)) and not _is_role_tuple(m) for m in messages):
        messages = messages[0]  # a batch of conversations: the first one
    for m in reversed(messages):
        role = _role(m)
        if role is None:
            if human and isinstance(m, str) and m.strip():
                return m
            continue
        if (role in _HUMAN) if human else (role in _AI):
            text = _content_text(m[1] if _is_role_tuple(m) else (m.get("content") if isinstance(m, Mapping) else getattr(m, "content", None)))
            if text.strip():
                return text
    return ""


def _llm_text(steps: Sequence[Any], *, first: bool) -> str:
    """The last human message of the first LLM call (``first``) or the last AI message of the last one."""
    llm = [s for s in steps if getattr(s, "kind", None) == "llm"]
    if not llm:
        return ""
    if first:
        inputs = getattr(llm[0], "inputs", None)
        if isinstance(inputs, str):
            return inputs if inputs.strip() else ""
        if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(p, str) for p in inputs):
            return inputs[0]
        return _messages_text(inputs, human=True)
    for step in reversed(llm):
        outputs = getattr(step, "outputs", None)
        if isinstance(outputs, str) and outputs.strip():
            return outputs
        text = _messages_text(outputs if isinstance(outputs, (list, tuple)) else [outputs], human=False)
        if text:
            return text
    return ""


def _fallback(value: Any) -> tuple[str, str]:
    values = _string_values(value)
    if len(values) == 1:
        return values[0], "value"
    rendering = _render(value)
    return (rendering, "rendering") if rendering else ("", "empty")


def _string_values(value: Any) -> list[str]:
    mapping = value if isinstance(value, Mapping) else _as_mapping(value)
    if mapping is None:
        return []
    return [v for v in mapping.values() if isinstance(v, str) and v.strip()]


def _render(value: Any, depth: int = 0) -> str:
    """A compact, readable rendering: ``key: value`` lines, numbers as themselves."""
    if value is None or depth > 4:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ""
    if isinstance(value, Mapping):
        if value.get("__binary__"):
            return ""
        parts = []
        for k, v in value.items():
            text = _render(v, depth + 1)
            if text:
                parts.append(f"{k}: {text}")
        return _cap("; ".join(parts))
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_render(v, depth + 1) for v in list(value)[:50]]
        return _cap(", ".join(t for t in items if t))
    text = text_of(value)
    if text:
        return _cap(text)
    as_map = _as_mapping(value)
    return _render(as_map, depth + 1) if as_map is not None else ""


def _cap(text: str) -> str:
    return text if len(text) <= _MAX_RENDER else text[:_MAX_RENDER]


# -- shapes -------------------------------------------------------------------------------------


def _is_message(m: Any) -> bool:
    if isinstance(m, Mapping):
        return "content" in m and isinstance(m.get("role", m.get("type")), str)
    return hasattr(m, "content") and (hasattr(m, "type") or hasattr(m, "role")) and not isinstance(m, type)


def _is_role_tuple(m: Any) -> bool:
    return isinstance(m, (list, tuple)) and len(m) == 2 and isinstance(m[0], str) and m[0] in _ROLES


def _role(m: Any) -> str | None:
    if _is_role_tuple(m):
        return str(m[0])
    if isinstance(m, Mapping):
        r = m.get("role", m.get("type"))
        return r if isinstance(r, str) and "content" in m else None
    if _is_message(m):
        r = getattr(m, "type", None) or getattr(m, "role", None)
        r = getattr(r, "value", r)
        return str(r) if r is not None else None
    return None


def _content_text(content: Any) -> str:
    """A message's content: a string, or the text blocks of a multimodal content list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
                parts.append(block["text"])
            else:
                text = getattr(block, "text", None)
                if isinstance(text, str):
                    parts.append(text)
        return "\n".join(p for p in parts if p)
    return text_of(content)


def _as_mapping(value: Any) -> Mapping[str, Any] | None:
    """Pydantic models and dataclasses as mappings (what a person would read); else None."""
    if isinstance(value, type):
        return None
    if dataclasses.is_dataclass(value):
        try:
            return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        except Exception:  # noqa: BLE001 - a foreign object: best effort
            return None
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            data = dump()
        except Exception:  # noqa: BLE001
            return None
        return data if isinstance(data, Mapping) else None
    return None


def _object_text(value: Any) -> str:
    """``str(value)`` when its class says what it is; ``""`` for a default ``<Foo object at 0x..>``."""
    if isinstance(value, (int, float, bool)):
        return str(value)
    cls = type(value)
    if cls.__str__ is object.__str__ and cls.__repr__ is object.__repr__:
        as_map = _as_mapping(value)
        return _render(as_map) if as_map is not None else ""
    try:
        return str(value)
    except Exception:  # noqa: BLE001
        return ""
