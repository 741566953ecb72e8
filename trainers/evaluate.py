"""Offline regression evaluation: an eval split plus pinned regression cases, scored per category.

Metrics per case: exact match, normalised match (SQuAD-style), tool-name and tool-argument match
for tool calls, and an optional reference-grounded judge score. Per category: their means, latency
(mean / p95) and prompt / completion token counts. ``compare_three_way`` runs the base model, the
base model with few-shot examples, and the fine-tuned adapter on the same cases, which is what the
gate needs to tell whether training beat the cheaper alternative.

A "model" here is any ``generate(messages) -> str | dict | Prediction`` callable; ``HFGenerator``
wraps a local Hugging Face model (+ optional LoRA adapter).
"""

from __future__ import annotations

import copy
import json
import math
import re
import string
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from flywheel_middleware._extras import requires_extra

from .data import normalise_messages, normalise_tool_calls, read_jsonl, split_sft_row

Message = dict[str, Any]
GenerateFn = Callable[[list[Message]], Any]
FewShotProvider = Callable[[list[Message]], list[Message]]


# ---------------------------------------------------------------------------------------------
# cases and predictions
# ---------------------------------------------------------------------------------------------
@dataclass
class EvalCase:
    """One prompt with its reference answer (text and/or tool calls) and a category."""

    id: str
    messages: list[Message]
    reference: str = ""
    reference_tool_calls: list[dict[str, Any]] = field(default_factory=list)
    category: str = "default"
    tools: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prediction:
    """What a model answered, with cost: latency and token counts (None when unknown)."""

    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "arguments"}]
    latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def load_cases(source: str | Path, *, limit: int | None = None, default_category: str = "default") -> list[EvalCase]:
    """Cases from an export directory (its ``eval.jsonl``) or a JSONL file of regression cases.

    Accepted rows: SFT (``messages``: the last assistant turn is the reference), DPO (``prompt`` +
    ``chosen``), KTO (``prompt`` + ``completion`` with ``label: true``; undesirable rows are
    skipped) and pinned cases ``{"id", "category", "messages" | "input", "reference" | "expected",
    "expected_tool_calls"}``. The category comes from ``category`` or ``metadata.category``.
    """
    path = Path(source)
    file = path / "eval.jsonl" if path.is_dir() else path
    cases: list[EvalCase] = []
    for n, row in enumerate(read_jsonl(file)):
        case = _row_to_case(row, f"{file.stem}:{n}", default_category)
        if case is not None:
            cases.append(case)
        if limit is not None and len(cases) >= limit:
            break
    return cases


def _row_to_case(row: dict[str, Any], fallback_id: str, default_category: str) -> EvalCase | None:
    meta = dict(row.get("metadata") or {})
    category = str(row.get("category") or meta.get("category") or default_category)
    case_id = str(row.get("id") or meta.get("interaction_id") or fallback_id)
    if "messages" in row and not any(k in row for k in ("reference", "expected", "expected_tool_calls")):
        prompt, reply = split_sft_row(row)
    elif "chosen" in row:
        prompt, reply = row["prompt"], row["chosen"]
    elif "completion" in row and "label" in row:
        if not row["label"]:
            return None
        prompt, reply = row["prompt"], row["completion"]
    else:
        prompt = row.get("messages") or [{"role": "user", "content": str(row.get("input", ""))}]
        if isinstance(prompt, str):
            prompt = [{"role": "user", "content": prompt}]
        reply = [{"role": "assistant", "content": str(row.get("reference", row.get("expected", "")) or ""),
                  "tool_calls": row.get("expected_tool_calls") or row.get("reference_tool_calls") or []}]
    final = reply[-1] if reply else {"content": ""}
    return EvalCase(
        id=case_id, messages=normalise_messages(prompt), reference=str(final.get("content") or ""),
        reference_tool_calls=_simple_calls(final.get("tool_calls")), category=category,
        tools=row.get("tools"), metadata=meta,
    )


def _simple_calls(tool_calls: Any) -> list[dict[str, Any]]:
    """Tool calls as ``{"name", "arguments": dict}`` (what the metrics compare)."""
    return [{"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for c in normalise_tool_calls(tool_calls)]


_TOOL_CALL_RE = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)


def parse_tool_calls(text: str) -> tuple[str, list[dict[str, Any]]]:
    """(remaining text, tool calls) from a generation: ``<tool_call>{json}</tool_call>`` blocks
    (Hermes / Qwen / the tiny model), or a reply that is a single JSON ``{"name", "arguments"}``."""
    calls: list[dict[str, Any]] = []
    for raw in _TOOL_CALL_RE.findall(text):
        call = _json_call(raw)
        calls.append(call if call is not None else {"name": "", "arguments": {"__raw__": raw}})
    rest = _TOOL_CALL_RE.sub("", text).strip()
    if not calls and rest.startswith("{"):
        call = _json_call(rest)
        if call is not None:
            return "", [call]
    return rest, calls


def _json_call(raw: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or "name" not in obj:
        return None
    args = obj.get("arguments", obj.get("parameters", obj.get("args", {})))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            args = {"__raw__": args}
    return {"name": str(obj["name"]), "arguments": args if isinstance(args, dict) else {"__value__": args}}


def _as_prediction(out: Any) -> Prediction:
    """Coerce what a generate function returned (str, dict, AIMessage-like, Prediction)."""
    if isinstance(out, Prediction):
        return out
    if isinstance(out, str):
        text, calls = parse_tool_calls(out)
        return Prediction(text=text, tool_calls=calls)
    if isinstance(out, dict):
        text, calls = parse_tool_calls(str(out.get("content") or out.get("text") or ""))
        calls = _simple_calls(out.get("tool_calls")) or calls
        return Prediction(text=text, tool_calls=calls, prompt_tokens=out.get("prompt_tokens"),
                          completion_tokens=out.get("completion_tokens"))
    content = getattr(out, "content", None)  # LangChain AIMessage
    if content is not None:
        text, calls = parse_tool_calls(content if isinstance(content, str) else str(content))
        raw_calls = getattr(out, "tool_calls", None) or []
        calls = [{"name": c.get("name", ""), "arguments": c.get("args", {})} for c in raw_calls] or calls
        usage = getattr(out, "usage_metadata", None) or {}
        return Prediction(text=text, tool_calls=calls, prompt_tokens=usage.get("input_tokens"),
                          completion_tokens=usage.get("output_tokens"))
    return Prediction(text=str(out))


# ---------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------
def normalize_text(text: str) -> str:
    """Lower-case, drop punctuation and articles, collapse whitespace (SQuAD normalisation)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(candidate: str, reference: str) -> float:
    """Token-level F1 after normalisation: precision punishes padding, recall punishes omissions."""
    cand, ref = normalize_text(candidate).split(), normalize_text(reference).split()
    if not cand and not ref:
        return 1.0
    if not cand or not ref:
        return 0.0
    common = sum((Counter(cand) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(cand), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def answer_string(text: str, tool_calls: Sequence[dict[str, Any]]) -> str:
    """A canonical answer: the text plus each tool call as sorted-key JSON (what exact match compares)."""
    parts = [text.strip()] + [json.dumps({"name": c.get("name"), "arguments": c.get("arguments")}, sort_keys=True)
                              for c in tool_calls]
    return "\n".join(p for p in parts if p)


def _canon_args(args: Any) -> Any:
    """Arguments compared loosely on formatting: strings stripped and lower-cased, numbers as numbers."""
    if isinstance(args, dict):
        return {str(k): _canon_args(v) for k, v in sorted(args.items())}
    if isinstance(args, (list, tuple)):
        return [_canon_args(v) for v in args]
    if isinstance(args, str):
        s = args.strip()
        try:
            return float(s)
        except ValueError:
            return s.lower()
    if isinstance(args, bool) or args is None:
        return args
    if isinstance(args, (int, float)):
        return float(args)
    return str(args)


def tool_match(pred: Sequence[dict[str, Any]], ref: Sequence[dict[str, Any]]) -> tuple[bool | None, bool | None]:
    """(names match, names and arguments match), order-insensitive; (None, None) when neither side calls a tool."""
    if not pred and not ref:
        return None, None
    names_p = sorted(str(c.get("name")) for c in pred)
    names_r = sorted(str(c.get("name")) for c in ref)
    full_p = sorted(json.dumps([c.get("name"), _canon_args(c.get("arguments") or {})], sort_keys=True) for c in pred)
    full_r = sorted(json.dumps([c.get("name"), _canon_args(c.get("arguments") or {})], sort_keys=True) for c in ref)
    return names_p == names_r, full_p == full_r


# ---------------------------------------------------------------------------------------------
# judges
# ---------------------------------------------------------------------------------------------
@dataclass
class JudgeScore:
    """A judge's verdict on one answer, in [0, 1]."""

    score: float
    rationale: str = ""


@runtime_checkable
class Judge(Protocol):
    """Scores a candidate answer against a reference answer (reference-grounded, not open-ended)."""

    def score(self, *, question: str, candidate: str, reference: str) -> JudgeScore: ...


class DeterministicJudge:
    """Token F1 against the reference: a free, reproducible judge for tests and CI."""

    def score(self, *, question: str, candidate: str, reference: str) -> JudgeScore:
        return JudgeScore(score=token_f1(candidate, reference), rationale="token F1 vs reference")


_JUDGE_SYSTEM = (
    "You grade an AI assistant's answer against a reference answer written by an expert. "
    "Judge only whether the candidate conveys the same facts, decision and tool calls as the reference. "
    "Length is not quality: do not reward extra detail, politeness, hedging or restating the question; "
    "content that is not in the reference counts only if it is correct and necessary. "
    'Reply with JSON only: {"score": <integer 1-10>, "reason": "<one sentence>"}. '
    "10 = equivalent to the reference, 1 = wrong or missing."
)


class LangChainJudge:
    """An LLM-as-judge over any LangChain chat model, grounded in the reference answer.

    Length-bias guards: the prompt tells the judge length is not quality; the candidate is cut to
    ``max_chars`` (and to ``truncate_ratio`` x the reference length, with a visible marker); and a
    verbosity penalty ``min(1, tolerance * len(ref) / len(cand)) ** verbosity_penalty`` is applied to
    the parsed score when the candidate is more than ``verbosity_tolerance`` times longer (in words).
    """

    def __init__(self, chat_model: Any, *, max_chars: int = 4000, truncate_ratio: float = 4.0,
                 verbosity_tolerance: float = 2.0, verbosity_penalty: float = 0.5, scale: int = 10) -> None:
        self.chat_model = chat_model
        self.max_chars = max_chars
        self.truncate_ratio = truncate_ratio
        self.verbosity_tolerance = verbosity_tolerance
        self.verbosity_penalty = verbosity_penalty
        self.scale = scale

    def score(self, *, question: str, candidate: str, reference: str) -> JudgeScore:
        with requires_extra("langchain", "LangChainJudge"):
            from langchain_core.messages import HumanMessage, SystemMessage

        limit = min(self.max_chars, max(200, int(len(reference) * self.truncate_ratio)))
        shown = candidate if len(candidate) <= limit else candidate[:limit] + " [...truncated]"
        prompt = (f"QUESTION:\n{question[: self.max_chars]}\n\nREFERENCE ANSWER:\n{reference[: self.max_chars]}\n\n"
                  f"CANDIDATE ANSWER:\n{shown}\n\nGrade the candidate against the reference.")
        reply = self.chat_model.invoke([SystemMessage(content=_JUDGE_SYSTEM), HumanMessage(content=prompt)])
        content = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        raw, reason = _parse_judge_reply(content)
        score = min(1.0, max(0.0, (raw - 1) / (self.scale - 1))) if raw is not None else 0.0
        ref_words, cand_words = max(1, len(reference.split())), len(candidate.split())
        if cand_words > self.verbosity_tolerance * ref_words:
            score *= min(1.0, self.verbosity_tolerance * ref_words / cand_words) ** self.verbosity_penalty
            reason += f" (verbosity penalty: {cand_words} vs {ref_words} reference words)"
        if raw is None:
            reason = f"unparseable judge reply: {content[:200]!r}"
        return JudgeScore(score=score, rationale=reason)


def _parse_judge_reply(content: str) -> tuple[float | None, str]:
    match = re.search(r"\{.*\}", content, re.S)
    if match:
        try:
            obj = json.loads(match.group(0))
            return float(obj["score"]), str(obj.get("reason", ""))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            pass
    num = re.search(r"\b(10|[1-9])(?:\.\d+)?\b", content)
    return (float(num.group(0)), content.strip()[:200]) if num else (None, "")


# ---------------------------------------------------------------------------------------------
# Hugging Face generation
# ---------------------------------------------------------------------------------------------
class HFGenerator:
    """Greedy generation with a local causal LM and optional LoRA adapters; measures latency/tokens.

    ``adapter`` may be one adapter folder or a stack (a DPO adapter trained on top of an SFT one):
    an adapter whose ``flywheel_model.json`` names a ``stack`` brings its parents along, and all
    are active together (LoRA deltas add up, which is what training on the merged parent did).
    ``base_model`` may be ``"smollm2"`` (the packaged model, see ``base_model``) or any local folder.

    ``base_view()`` returns a generator over the same weights with the adapters disabled, so the
    base-vs-adapter comparison loads the model once. :meth:`batch` generates many prompts at once
    (left padding), which is how evaluation runs on a CPU in reasonable time.
    """

    def __init__(self, base_model: str | Path | None = None, adapter: str | Path | Sequence[str | Path] | None = None, *,
                 max_new_tokens: int = 64, device: str = "auto", model: Any = None, tokenizer: Any = None,
                 batch_size: int = 16) -> None:
        self.base_model = str(base_model) if base_model is not None else None
        stack = [adapter] if isinstance(adapter, (str, Path)) else list(adapter or [])
        self.adapters = adapter_stack(stack)
        self.adapter = self.adapters[-1] if self.adapters else None
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.batch_size = batch_size
        self._model = model
        self._tokenizer = tokenizer
        self._use_adapter = bool(self.adapters)

    def _load(self) -> None:
        if self._model is not None and self._tokenizer is not None:
            if self.device == "auto":  # a model handed in: generate where its weights are
                self.device = str(next(self._model.parameters()).device)
            return
        with requires_extra("train", "HFGenerator"):
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

        from ._quiet import quiet_libraries
        from .base_model import resolve_base_model

        device = self.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        if self.base_model is None and self.adapter:
            self.base_model = _card_base(self.adapter)
        base = resolve_base_model(self.base_model)
        with quiet_libraries():
            if self._tokenizer is None:
                self._tokenizer = AutoTokenizer.from_pretrained(self.adapter or base)
            if self._model is None:
                dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
                model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
                if self.adapters:
                    model = attach_adapters(model, self.adapters)
                self._model = model.to(device).eval()

    def base_view(self) -> "HFGenerator":
        """The same loaded model with the adapters disabled (the 'base' arm of a comparison)."""
        self._load()
        view = HFGenerator(self.base_model, None, max_new_tokens=self.max_new_tokens, device=self.device,
                           model=self._model, tokenizer=self._tokenizer, batch_size=self.batch_size)
        view.adapters, view.adapter = list(self.adapters), self.adapter
        view._use_adapter = False
        return view

    def _context(self) -> Any:
        import contextlib

        model = self._model
        if not self._use_adapter and self.adapters and hasattr(model, "disable_adapter"):
            return model.disable_adapter()
        return contextlib.nullcontext()

    def __call__(self, messages: list[Message], tools: list[dict] | None = None) -> Prediction:
        return self._generate([messages], tools)[0]

    def batch(self, conversations: Sequence[list[Message]]) -> list[Prediction]:
        """Predictions for many prompts, ``batch_size`` at a time; latency is the batch's time per answer."""
        out: list[Prediction] = []
        for i in range(0, len(conversations), max(1, self.batch_size)):
            out.extend(self._generate(list(conversations[i : i + max(1, self.batch_size)]), None))
        return out

    def _generate(self, conversations: list[list[Message]], tools: list[dict] | None) -> list[Prediction]:
        import torch

        from .data import render_prompt

        self._load()
        tok, model = self._tokenizer, self._model
        prompts = [render_prompt(tok, messages, tools) for messages in conversations]
        side = getattr(tok, "padding_side", "right")
        tok.padding_side = "left"  # decoder-only batches pad on the left so generation continues the prompt
        try:
            enc = tok(prompts, return_tensors="pt", add_special_tokens=False, padding=len(prompts) > 1).to(self.device)
        finally:
            tok.padding_side = side
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        start = time.perf_counter()
        with torch.no_grad(), self._context():
            out = model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=False, pad_token_id=pad)
        latency = (time.perf_counter() - start) / len(prompts)
        width = enc["input_ids"].shape[1]
        eos_ids = _eos_ids(tok, model)
        keep = {"<tool_call>", "</tool_call>"}
        specials = [s for s in getattr(tok, "all_special_tokens", []) if s not in keep]
        results = []
        for row, mask in zip(out, enc["attention_mask"]):
            new = row[width:].tolist()
            cut = next((i for i, t in enumerate(new) if t in eos_ids), len(new))
            raw = tok.decode(new[:cut], skip_special_tokens=False)
            for special in specials:
                raw = raw.replace(special, "")
            text, calls = parse_tool_calls(raw)
            results.append(Prediction(text=text, tool_calls=calls, latency_s=latency, prompt_tokens=int(mask.sum()),
                                      completion_tokens=min(len(new), cut + 1)))
        return results


def adapter_stack(adapters: Sequence[str | Path]) -> list[str]:
    """The adapters to activate, parents first: each adapter's card may name the stack it was trained on."""
    from ._core import CARD_FILE

    out: list[str] = []
    for adapter in adapters:
        card_file = Path(adapter) / CARD_FILE
        if card_file.exists():
            card = json.loads(card_file.read_text(encoding="utf-8"))
            for parent in card.get("stack") or []:
                if str(parent) not in out:
                    out.append(str(parent))
        if str(adapter) not in out:
            out.append(str(adapter))
    return out


def attach_adapters(model: Any, adapters: Sequence[str | Path]) -> Any:
    """Wrap ``model`` in peft with every adapter of the stack loaded and active at once."""
    from peft import PeftModel

    names = [f"a{i}" for i in range(len(adapters))]
    peft_model = PeftModel.from_pretrained(model, str(adapters[0]), adapter_name=names[0])
    for name, path in zip(names[1:], adapters[1:]):
        peft_model.load_adapter(str(path), adapter_name=name)
    if len(names) > 1:
        peft_model.base_model.set_adapter(names)
    return peft_model


def _card_base(adapter: str) -> str | None:
    from ._core import CARD_FILE

    card_file = Path(adapter) / CARD_FILE
    if not card_file.exists():
        return None
    base = json.loads(card_file.read_text(encoding="utf-8")).get("base_model") or {}
    return base.get("path") or base.get("name_or_path")


def _eos_ids(tok: Any, model: Any) -> set[int]:
    ids: set[int] = set()
    gen = getattr(model, "generation_config", None)
    eos = getattr(gen, "eos_token_id", None) if gen is not None else None
    for value in (eos, tok.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    return ids


# ---------------------------------------------------------------------------------------------
# few-shot
# ---------------------------------------------------------------------------------------------
class _WithFewShot:
    """``generate`` with the provider's examples after the system messages of each prompt."""

    def __init__(self, generate: GenerateFn, provider: FewShotProvider) -> None:
        self.__wrapped__ = generate
        self.provider = provider
        if hasattr(generate, "batch"):
            self.batch = self._batch

    def _shown(self, messages: list[Message]) -> list[Message]:
        examples = list(self.provider(messages) or [])
        head = [m for m in messages if m.get("role") == "system"]
        tail = [m for m in messages if m.get("role") != "system"]
        return head + examples + tail

    def __call__(self, messages: list[Message], **kwargs: Any) -> Any:
        return self.__wrapped__(self._shown(messages), **kwargs)

    def _batch(self, conversations: Sequence[list[Message]]) -> list[Any]:
        return self.__wrapped__.batch([self._shown(m) for m in conversations])  # type: ignore[attr-defined]


def with_few_shot(generate: GenerateFn, provider: FewShotProvider) -> GenerateFn:
    """Wrap ``generate`` so the provider's example messages go after the system messages of each prompt.

    The wrapper keeps ``generate``'s ``batch`` (many prompts at once) when it has one.
    """
    return _WithFewShot(generate, provider)


class LexicalFewShot:
    """A few-shot provider over an SFT export's train split: the k most word-overlapping examples.

    A stand-in for the trajectory store's embedding retrieval when evaluating offline (the CLI uses
    it); pass the real store's retriever as the provider in production comparisons. Keep the pool
    disjoint from the evaluated cases (the export's train split is), or answers leak into prompts.
    """

    def __init__(self, rows: Iterable[dict[str, Any]] | str | Path, k: int = 2) -> None:
        if isinstance(rows, (str, Path)):
            path = Path(rows)
            rows = read_jsonl(path / "train.jsonl" if path.is_dir() else path)
        self.k = k
        self.pool: list[tuple[set[str], list[Message]]] = []
        for row in rows:
            case = _row_to_case(row, "", "default")
            if case is None:
                continue
            user = next((m["content"] for m in reversed(case.messages) if m.get("role") == "user"), "")
            reply: Message = {"role": "assistant", "content": case.reference}
            if case.reference_tool_calls:
                reply["tool_calls"] = [{"type": "function", "function": c} for c in case.reference_tool_calls]
            self.pool.append((set(normalize_text(user).split()), [{"role": "user", "content": user}, reply]))

    def __call__(self, messages: list[Message]) -> list[Message]:
        query = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
        words = set(normalize_text(str(query)).split())
        scored = sorted(self.pool, key=lambda p: -len(words & p[0]) / (len(words | p[0]) or 1))
        out: list[Message] = []
        for _, example in scored[: self.k]:
            out.extend(example)
        return out


# ---------------------------------------------------------------------------------------------
# reports
# ---------------------------------------------------------------------------------------------
@dataclass
class CaseResult:
    """One case's prediction and scores."""

    case_id: str
    category: str
    prediction: str
    tool_calls: list[dict[str, Any]]
    exact: bool
    normalized: bool
    tool_name: bool | None
    tool_args: bool | None
    judge: float | None
    latency_s: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    error: str | None = None


METRICS: tuple[str, ...] = ("exact", "normalized", "tool_name", "tool_args", "judge")


@dataclass
class EvalReport:
    """Per-category and overall metrics of one model on one set of cases."""

    name: str
    categories: dict[str, dict[str, Any]]
    overall: dict[str, Any]
    cases: list[CaseResult] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy({"name": self.name, "categories": self.categories, "overall": self.overall,
                              "cases": [asdict(c) for c in self.cases], "meta": self.meta})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EvalReport":
        return cls(name=data["name"], categories=data["categories"], overall=data["overall"],
                   cases=[CaseResult(**c) for c in data.get("cases", [])], meta=data.get("meta", {}))

    def save(self, path: str | Path) -> Path:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, default=str), encoding="utf-8")
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "EvalReport":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _mean(values: Iterable[float | int | bool | None]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _p95(values: Iterable[float | None]) -> float | None:
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    return vals[min(len(vals) - 1, max(0, math.ceil(0.95 * len(vals)) - 1))]


def _aggregate(results: Sequence[CaseResult]) -> dict[str, Any]:
    from .stats import wilson_interval

    right = sum(1 for r in results if r.normalized)
    low, high = wilson_interval(right, len(results))
    return {
        "n": len(results),
        "errors": sum(1 for r in results if r.error),
        **{m: _mean(getattr(r, m) for r in results) for m in METRICS},
        "normalized_ci95": [round(low, 4), round(high, 4)],
        "tool_cases": sum(1 for r in results if r.tool_name is not None),
        "latency_mean_s": _mean(r.latency_s for r in results),
        "latency_p95_s": _p95([r.latency_s for r in results]),
        "prompt_tokens_mean": _mean(r.prompt_tokens for r in results),
        "completion_tokens_mean": _mean(r.completion_tokens for r in results),
    }


def _predict(generate: Any, cases: Sequence[EvalCase], progress: Callable[[int, int], None] | None) -> list[tuple[Prediction, str | None]]:
    """Every case's prediction (or error); batched when ``generate`` has ``batch`` and no case has tools."""
    out: list[tuple[Prediction, str | None]] = []
    batch = getattr(generate, "batch", None)
    size = max(1, int(getattr(getattr(generate, "__wrapped__", generate), "batch_size", 1) or 1))
    if batch is not None and not any(c.tools for c in cases):
        for i in range(0, len(cases), size):
            chunk = cases[i : i + size]
            try:
                preds = [_as_prediction(p) for p in batch([c.messages for c in chunk])]
                out.extend((p, None) for p in preds)
            except Exception:  # noqa: BLE001 - a failing batch falls back to one by one (errors per case)
                out.extend(_predict(lambda m, **kw: generate(m, **kw), chunk, None))
            if progress:
                progress(len(out), len(cases))
        return out
    for case in cases:
        start = time.perf_counter()
        try:
            kwargs = {"tools": case.tools} if case.tools and _accepts_tools(generate) else {}
            pred, error = _as_prediction(generate(case.messages, **kwargs)), None
        except Exception as exc:  # noqa: BLE001 - one broken case must not end the run
            pred, error = Prediction(text=""), f"{type(exc).__name__}: {exc}"
        if pred.latency_s is None:
            pred.latency_s = time.perf_counter() - start
        out.append((pred, error))
        if progress:
            progress(len(out), len(cases))
    return out


def evaluate_model(
    model_or_generate_fn: GenerateFn | str | Path,
    cases: Sequence[EvalCase],
    *,
    judge: Judge | None = None,
    name: str = "model",
    few_shot: FewShotProvider | None = None,
    adapter: str | Path | None = None,
    max_new_tokens: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Run every case through the model and score it; a failing case is recorded, not raised.

    ``model_or_generate_fn`` is a callable ``generate(messages)`` or a local model path (wrapped in
    :class:`HFGenerator`, with ``adapter`` if given). ``few_shot`` prepends examples to each prompt.
    Without a ``judge`` the score is exact / normalised match against the reference (the right one
    for labels, routes and other verifiable answers). ``progress(done, total)`` follows the run.
    """
    generate: Any = model_or_generate_fn
    if isinstance(generate, (str, Path)):
        generate = HFGenerator(generate, adapter, max_new_tokens=max_new_tokens)
    if few_shot is not None:
        generate = with_few_shot(generate, few_shot)
    results: list[CaseResult] = []
    for case, (pred, error) in zip(cases, _predict(generate, cases, progress)):
        cand = answer_string(pred.text, pred.tool_calls)
        ref = answer_string(case.reference, case.reference_tool_calls)
        tn, ta = tool_match(pred.tool_calls, case.reference_tool_calls)
        jscore = None
        if judge is not None and error is None:
            question = next((str(m.get("content")) for m in reversed(case.messages) if m.get("role") == "user"), "")
            try:
                jscore = float(judge.score(question=question, candidate=cand, reference=ref).score)
            except Exception as exc:  # noqa: BLE001
                error = f"judge: {type(exc).__name__}: {exc}"
        results.append(CaseResult(
            case_id=case.id, category=case.category, prediction=pred.text, tool_calls=pred.tool_calls,
            exact=cand.strip() == ref.strip(), normalized=normalize_text(cand) == normalize_text(ref),
            tool_name=tn, tool_args=ta, judge=jscore, latency_s=pred.latency_s,
            prompt_tokens=pred.prompt_tokens, completion_tokens=pred.completion_tokens, error=error,
        ))
    by_cat: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        by_cat[r.category].append(r)
    meta = {"n_cases": len(results), "judge": type(judge).__name__ if judge else None, "evaluated_at": time.time()}
    inner = getattr(generate, "__wrapped__", generate)
    if isinstance(inner, HFGenerator):
        meta.update(base_model=inner.base_model, adapter=inner.adapter, adapters=list(inner.adapters),
                    adapter_enabled=inner._use_adapter)
    return EvalReport(name=name, categories={c: _aggregate(rs) for c, rs in sorted(by_cat.items())},
                      overall=_aggregate(results), cases=results, meta=meta)


def _accepts_tools(fn: Any) -> bool:
    import inspect

    target = getattr(fn, "__wrapped__", fn)
    try:
        return "tools" in inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


ARMS: tuple[str, ...] = ("base", "few_shot", "candidate", "candidate_few_shot")


def compare_arms(
    base: GenerateFn | str | Path,
    cases: Sequence[EvalCase],
    *,
    candidate: GenerateFn | None = None,
    adapter: str | Path | Sequence[str | Path] | None = None,
    few_shot: FewShotProvider | None = None,
    judge: Judge | None = None,
    max_new_tokens: int = 64,
    batch_size: int = 16,
    arms: Sequence[str] = ARMS,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, EvalReport]:
    """The four arms of the ladder on the same cases: ``base`` (zero-shot), ``few_shot`` (base + the
    provider's examples), ``candidate`` (the adapter, zero-shot) and ``candidate_few_shot``.

    With a base model path and ``adapter``, the model is loaded once and the base arms run with the
    adapters disabled. Arms without what they need (no provider, no candidate) are left out;
    ``progress(arm, done, total)`` follows each arm.
    """
    if isinstance(base, (str, Path)) or base is None:
        if adapter is not None:
            gen = HFGenerator(base, adapter, max_new_tokens=max_new_tokens, batch_size=batch_size)
            base, candidate = gen.base_view(), candidate or gen
        else:
            base = HFGenerator(base, max_new_tokens=max_new_tokens, batch_size=batch_size)
    plan: list[tuple[str, Any, FewShotProvider | None]] = [("base", base, None)]
    if few_shot is not None:
        plan.append(("few_shot", base, few_shot))
    if candidate is not None:
        plan.append(("candidate", candidate, None))
        if few_shot is not None:
            plan.append(("candidate_few_shot", candidate, few_shot))
    reports: dict[str, EvalReport] = {}
    for name, model, provider in plan:
        if name not in arms:
            continue
        tick = (lambda done, total, arm=name: progress(arm, done, total)) if progress else None
        reports[name] = evaluate_model(model, cases, judge=judge, name=name, few_shot=provider, progress=tick)
    return reports


def compare_three_way(
    base: GenerateFn | str | Path,
    cases: Sequence[EvalCase],
    *,
    candidate: GenerateFn | None = None,
    adapter: str | Path | None = None,
    few_shot: FewShotProvider | None = None,
    judge: Judge | None = None,
    max_new_tokens: int = 64,
) -> dict[str, EvalReport]:
    """Reports for ``base``, ``few_shot`` and ``candidate`` (:func:`compare_arms` without the fourth arm)."""
    return compare_arms(base, cases, candidate=candidate, adapter=adapter, few_shot=few_shot, judge=judge,
                        max_new_tokens=max_new_tokens, arms=("base", "few_shot", "candidate"))


def save_reports(reports: dict[str, EvalReport], path: str | Path) -> Path:
    """Write several reports to one JSON file ``{"reports": {name: report}}`` (the CLI's ``eval --out``)."""
    data = {"reports": {k: v.to_dict() for k, v in reports.items()}}
    Path(path).write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    return Path(path)


def load_reports(path: str | Path) -> dict[str, EvalReport]:
    """Read a file written by :func:`save_reports` (or a single report, returned under its name)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if "reports" in data:
        return {k: EvalReport.from_dict(v) for k, v in data["reports"].items()}
    report = EvalReport.from_dict(data)
    return {report.name: report}
