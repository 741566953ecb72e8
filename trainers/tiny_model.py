"""A tiny, randomly initialised causal LM with a locally trained tokenizer.

Why: tests, demos and CI must train real LoRA/DPO/KTO adapters with TRL without downloading weights
from a hub. ``build_tiny_model`` writes a folder that loads exactly like a hub checkpoint::

    from transformers import AutoModelForCausalLM, AutoTokenizer
    path = build_tiny_model("./tiny")
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)

Using a real model instead: every trainer and the evaluator take ``base_model`` as any local folder
(or hub id, when the machine may download) of a Hugging Face causal LM whose tokenizer has a chat
template, e.g. a downloaded ``Qwen2.5-0.5B-Instruct`` folder: ``train_sft(data, "/models/qwen")``.
Nothing else changes; LoRA ``target_modules="all-linear"`` fits every architecture.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path

from flywheel_middleware._extras import requires_extra

#: Role/control tokens of the tiny chat format. ``<|end|>`` is the EOS token, so a generated
#: assistant turn stops where a training target stopped.
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|pad|>",
    "<|end|>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|tool|>",
    "<tool_call>",
    "</tool_call>",
)

#: A ChatML-like template. Tool calls are rendered as ``<tool_call>{"name":..,"arguments":..}</tool_call>``
#: (the Hermes/Qwen convention), which ``evaluate.parse_tool_calls`` reads back. The
#: ``{% generation %}`` markers let TRL's ``assistant_only_loss`` find assistant tokens.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{ '<|assistant|>\\n' }}{% generation %}"
    "{%- if message['content'] -%}{{ message['content'] }}{%- endif -%}"
    "{%- if message.get('tool_calls') -%}"
    "{%- for tc in message['tool_calls'] -%}"
    "{%- set fn = tc['function'] if tc.get('function') else tc -%}"
    "{{ '<tool_call>{\"name\": \"' + fn['name'] + '\", \"arguments\": ' }}"
    "{%- if fn['arguments'] is string -%}{{ fn['arguments'] }}{%- else -%}{{ fn['arguments'] | tojson }}{%- endif -%}"
    "{{ '}</tool_call>' }}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{ '<|end|>' }}{% endgeneration %}{{ '\\n' }}"
    "{%- else -%}"
    "{{ '<|' + message['role'] + '|>\\n' }}"
    "{{- message['content'] if message['content'] is not none else '' -}}"
    "{{ '<|end|>\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|assistant|>\\n' }}{%- endif -%}"
)

_SUBJECTS = ["my order", "the invoice", "my account", "the refund", "the delivery", "my password",
             "the subscription", "the report", "the weather", "the meeting", "my ticket", "the flight"]
_VERBS = ["check", "cancel", "update", "find", "explain", "reset", "book", "summarise", "track", "compare"]
_CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Lisbon", "Oslo", "Vienna", "Prague"]


def builtin_corpus(n: int = 600, seed: int = 0) -> list[str]:
    """A small synthetic support-desk corpus (questions, answers, tool calls) for the tokenizer."""
    rng = random.Random(seed)
    lines: list[str] = []
    for i in range(n):
        subj, verb, city = rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_CITIES)
        lines.append(f"Can you {verb} {subj} for me, please? It is number {rng.randint(1, 9999)}.")
        lines.append(f"Sure. I will {verb} {subj} now. The answer is {rng.randint(0, 100)} and it is done.")
        args = json.dumps({"city": city, "id": i % 97})
        lines.append(f'{{"name": "get_{verb}", "arguments": {args}}}')
        lines.append(f"The weather in {city} is sunny with {rng.randint(-5, 35)} degrees.")
    lines.append("The quick brown fox jumps over the lazy dog. 0123456789 !?.,:;'\"()[]{}<>/\\|-_+=*&^%$#@~`")
    return lines


def build_tiny_model(
    out_dir: str | Path,
    vocab_size: int = 1024,
    hidden: int = 64,
    layers: int = 2,
    seed: int = 0,
    corpus: Iterable[str] | str | Path | None = None,
    heads: int = 4,
    max_position_embeddings: int = 1024,
) -> Path:
    """Write a random-initialised ``LlamaForCausalLM`` + byte-level BPE tokenizer to ``out_dir``.

    ``corpus`` is an iterable of texts, or a path to a text/JSONL file, that the tokenizer learns
    its merges from (defaults to :func:`builtin_corpus`). The result loads with
    ``AutoModelForCausalLM.from_pretrained(out_dir)`` / ``AutoTokenizer.from_pretrained(out_dir)``
    and has a chat template, a pad token and ``<|end|>`` as EOS. Returns ``out_dir``.
    """
    with requires_extra("train", "build_tiny_model"):
        import torch
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
        from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    texts = _corpus_texts(corpus)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|end|>",
        pad_token="<|pad|>",
        additional_special_tokens=[t for t in SPECIAL_TOKENS if t not in ("<|end|>", "<|pad|>")],
        model_max_length=max_position_embeddings,
        padding_side="left",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_position_embeddings,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(out)
    return out


def _corpus_texts(corpus: Iterable[str] | str | Path | None) -> list[str]:
    """Texts for the tokenizer: the built-in corpus plus whatever the caller gave."""
    texts = builtin_corpus()
    if corpus is None:
        return texts
    if isinstance(corpus, (str, Path)) and Path(corpus).exists():
        path = Path(corpus)
        files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        for f in files:
            texts.extend(line for line in f.read_text(encoding="utf-8").splitlines() if line.strip())
        return texts
    if isinstance(corpus, str):
        return texts + [corpus]
    return texts + [str(t) for t in corpus]
