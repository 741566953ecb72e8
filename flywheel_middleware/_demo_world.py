"""The world of ``flywheel demo`` (and ``benchmarks/bench_flywheel.py``): real intents, a real
model, simulated people.

- **Questions** are CLINC150's (public, CC BY 3.0; see ``data/README.md``): users ask questions
  of the *train* split; the held-out evaluation uses the *test* split, which no user ever asks,
  so it is never stored and never retrieved as a few-shot example.
- **The agent** is a LangGraph graph: a router node, where SmolLM2-135M-Instruct (the packaged base
  model, through ``langchain-huggingface``'s ``ChatHuggingFace`` over a local transformers
  pipeline) reads the customer's message with few-shot examples from the flywheel's store and
  names its intent; a conditional edge to one handler node per intent (a fallback node when the
  reply is no known intent). A handler answers with the intent it handles (in a real app: the
  intent's flow; here, the topic the customer sees and can correct). The router's choice is a
  recorded routing decision (the ``flywheel.route`` event).
- **Users** know their true intent. After a right answer they copy it, thumbs it up, rate it or
  say nothing; after a wrong one they rephrase, say "that's not right", correct it with the right
  intent, thumbs it down, ask for a human or leave. A share of their clicks is wrong
  (``wrong_feedback``, 20 % by default) and a few corrections name a wrong intent
  (``wrong_correction``, 5 %): see :class:`SimulatedUser`.

Nothing here scores or trains the model: it learns only from what the flywheel exports.
"""

from __future__ import annotations

import json
import random
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

ROUTER_SYSTEM = "You route customer messages. Reply with the intent label only."
FALLBACK = "fallback"
DEMO_DOMAINS: tuple[str, ...] = ("banking", "travel")
_DATA_FILE = Path(__file__).parent / "data" / "clinc150_demo.json"


# -- data ------------------------------------------------------------------------------------------
@dataclass
class IntentData:
    """Intents grouped in domains, the questions users ask (train) and the held-out ones (test)."""

    domains: dict[str, list[str]]
    train: dict[str, list[str]]
    test: dict[str, list[str]]
    source: str = "CLINC150 (Larson et al., EMNLP 2019), CC BY 3.0"

    @property
    def intents(self) -> list[str]:
        return [i for d in self.domains.values() for i in d]

    def domain_of(self, intent: str) -> str:
        for domain, intents in self.domains.items():
            if intent in intents:
                return domain
        return "none"

    def heldout(self, per_intent: int, seed: int = 0) -> list[tuple[str, str]]:
        """``per_intent`` test questions of every intent as (question, intent), in a fixed order."""
        rng = random.Random(f"heldout-{seed}")
        out: list[tuple[str, str]] = []
        for intent in self.intents:
            questions = list(self.test[intent])
            rng.shuffle(questions)
            out.extend((q, intent) for q in questions[:per_intent])
        return out


def load_intents(domains: Sequence[str] | None = None, path: str | Path | None = None, heldout_split: str = "test") -> IntentData:
    """The packaged demo subset (``domains`` of it), or CLINC150's ``data_full.json`` + ``domains.json`` at ``path``.

    ``heldout_split="val"`` (only with ``path``) evaluates on the validation split instead of the
    test split: what settings are tuned on, so that the test split stays unseen.
    """
    if path is None:
        if heldout_split != "test":
            raise ValueError("the packaged subset has no validation split: pass the CLINC150 folder as path")
        raw = json.loads(_DATA_FILE.read_text(encoding="utf-8"))
        all_domains, train, test = raw["domains"], raw["train"], raw["test"]
    else:
        folder = Path(path)
        full = json.loads((folder / "data_full.json").read_text(encoding="utf-8"))
        all_domains = json.loads((folder / "domains.json").read_text(encoding="utf-8"))
        train, test = {}, {}
        for split, target in (("train", train), (heldout_split, test)):
            for text, intent in full[split]:
                target.setdefault(intent, []).append(text)
    chosen = list(domains or all_domains)
    unknown = [d for d in chosen if d not in all_domains]
    if unknown:
        raise ValueError(f"unknown domain(s) {unknown}; known: {sorted(all_domains)}")
    picked = {d: list(all_domains[d]) for d in chosen}
    intents = [i for d in picked.values() for i in d]
    return IntentData(picked, {i: list(train[i]) for i in intents}, {i: list(test[i]) for i in intents})


def parse_label(text: str) -> str:
    """The router's reply as a label: first line, lower case, spaces to underscores, no punctuation."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    line = re.sub(r"[^a-z0-9_ ]", "", line.lower()).strip()
    return re.sub(r"\s+", "_", line)


# -- the model ---------------------------------------------------------------------------------------
class LocalModel:
    """One model in memory for the agent (a LangChain chat model) and the evaluator (batched).

    Adapters are switched in place (``serve``): the LangChain pipeline, the agent and the
    evaluator all see the same weights, so a promoted adapter serves the next cycle's traffic.
    """

    def __init__(self, base_model: str | Path | None = None, *, max_new_tokens: int = 8) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from .trainers._quiet import quiet_libraries
        from .trainers.base_model import resolve_base_model

        self.base_model = resolve_base_model(base_model)
        self.max_new_tokens = max_new_tokens
        with quiet_libraries():
            self.tokenizer = AutoTokenizer.from_pretrained(self.base_model)
            if self.tokenizer.pad_token is None:
                self.tokenizer.pad_token = self.tokenizer.eos_token
            self.model: Any = AutoModelForCausalLM.from_pretrained(self.base_model, dtype=torch.float32).eval()
        self._names: dict[str, str] = {}  # adapter path -> peft adapter name
        self.serving: list[str] = []  # the active stack, parents first
        self._pipeline: Any = None
        self._lock = threading.Lock()

    def _load(self, stack: Sequence[str]) -> list[str]:
        from peft import PeftModel

        from .trainers._quiet import quiet_libraries

        names = []
        with quiet_libraries():
            for path in stack:
                if path not in self._names:
                    name = f"a{len(self._names)}"
                    if not self._names:
                        self.model = PeftModel.from_pretrained(self.model, path, adapter_name=name).eval()
                    else:
                        self.model.load_adapter(path, adapter_name=name)
                    self._names[path] = name
                names.append(self._names[path])
        return names

    def serve(self, adapter: str | Path | None) -> None:
        """Serve the base model (``None``) or an adapter with the stack it was trained on."""
        from .trainers.evaluate import adapter_stack

        with self._lock:
            stack = adapter_stack([str(adapter)]) if adapter is not None else []
            if stack:
                names = self._load(stack)
                self.model.base_model.set_adapter(names if len(names) > 1 else names[0])
                self.model.base_model.enable_adapter_layers()
            elif self._names:
                self.model.base_model.disable_adapter_layers()
            self.serving = stack
            if self._pipeline is not None:
                self._pipeline.model = self.model

    def generator(self, *, batch_size: int = 32) -> Any:
        """An ``HFGenerator`` over the weights being served (``base_view()`` of it: adapters off)."""
        from .trainers.evaluate import HFGenerator

        gen = HFGenerator(self.base_model, None, max_new_tokens=self.max_new_tokens, model=self.model,
                          tokenizer=self.tokenizer, batch_size=batch_size)
        gen.adapters, gen.adapter = list(self.serving), (self.serving[-1] if self.serving else None)
        gen._use_adapter = bool(self.serving)
        return gen

    def chat_model(self) -> Any:
        """A LangChain chat model (``ChatHuggingFace`` over a local transformers pipeline), greedy."""
        from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline
        from transformers import pipeline

        from .trainers._quiet import quiet_libraries

        with quiet_libraries():
            self._pipeline = pipeline("text-generation", model=self.model, tokenizer=self.tokenizer,
                                      max_new_tokens=self.max_new_tokens, do_sample=False, return_full_text=False)
            llm = HuggingFacePipeline(pipeline=self._pipeline, model_id=self.base_model)
            return ChatHuggingFace(llm=llm, tokenizer=self.tokenizer, model_id=self.base_model)


# -- the agent ---------------------------------------------------------------------------------------
def build_agent(fw: Any, chat_model: Any, intents: Sequence[str], *, few_shot_k: int = 4, **few_shot_options: Any) -> Any:
    """The support agent: router node (chat model + few-shot from ``fw``) -> one handler node per intent."""
    from langchain_core.callbacks.manager import dispatch_custom_event
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.runnables import RunnableConfig
    from langgraph.graph import END, START, MessagesState, StateGraph

    from .adapters.fewshot_langchain import FlywheelFewShotPrompt

    class State(MessagesState, total=False):
        intent: str  # the handler the router chose
        said: str  # the router's reply, as a label

    known = list(intents)
    valid = set(known)
    prompt = (FlywheelFewShotPrompt(fw, k=few_shot_k, system_prompt=ROUTER_SYSTEM, cache_ttl_s=0, **few_shot_options)
              if few_shot_k else None)
    router_chain = (prompt | chat_model) if prompt is not None else chat_model

    def router(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        from langchain_core.messages import SystemMessage

        question = next((m for m in reversed(state["messages"]) if isinstance(m, HumanMessage)), None)
        text = "" if question is None else str(question.content)
        messages = [HumanMessage(content=text)] if prompt is not None else [SystemMessage(ROUTER_SYSTEM), HumanMessage(text)]
        reply = router_chain.invoke(messages, config)
        said = parse_label(str(reply.content))
        chosen = said if said in valid else FALLBACK
        dispatch_custom_event("flywheel.route", {"router": "intent_router", "chosen": chosen, "candidates": known,
                                                 "reason": "model reply" if chosen != FALLBACK else "unknown label"},
                              config=config)
        return {"intent": chosen, "said": said}

    def handler(intent: str) -> Any:
        def handle(state: dict[str, Any]) -> dict[str, Any]:
            return {"messages": [AIMessage(content=intent, name="support")]}

        handle.__name__ = f"handle_{intent}"
        return handle

    def fallback(state: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [AIMessage(content=state.get("said") or "unknown", name="support")]}

    graph = StateGraph(State)
    graph.add_node("router", router)
    for intent in known:
        graph.add_node(intent, handler(intent))
        graph.add_edge(intent, END)
    graph.add_node(FALLBACK, fallback)
    graph.add_edge(FALLBACK, END)
    graph.add_edge(START, "router")
    graph.add_conditional_edges("router", lambda s: s["intent"], [*known, FALLBACK])
    return graph.compile()


# -- users -------------------------------------------------------------------------------------------
@dataclass
class Reaction:
    """What a simulated user does after an answer; ``click`` is a careless click made first."""

    kind: str  # copy | thumbs_up | rating | nothing | rephrase | not_right | correct | thumbs_down | human | leave
    value: Any = None
    wrong: bool = False  # feedback that contradicts the truth
    click: "Reaction | None" = None


@dataclass
class SimulatedUser:
    """A user with a true intent; reacts to the topic the agent answered with (deterministic per seed).

    Wrong feedback: with probability ``wrong_feedback`` a user's click contradicts the truth (a
    thumbs-down or a 1-star rating on a right answer; a thumbs-up, a 5-star rating or a copy on a
    wrong one). Such a user still wants what they wanted: after a wrong answer they go on as any
    user would (rephrase, say it is wrong, correct, ask for a human or leave). A correction names a
    wrong intent of the same domain with probability ``wrong_correction``.
    """

    user_id: str
    intent: str
    domain_intents: Sequence[str]
    rng: random.Random
    wrong_feedback: float = 0.2
    wrong_correction: float = 0.05
    asked: list[str] = field(default_factory=list)

    def react(self, answer: str, turn: int) -> Reaction:
        careless = self.rng.random() < self.wrong_feedback
        r = self.rng.random()
        if answer == self.intent:
            if careless:  # a misclick on a right answer; they got what they came for and leave
                return self.rng.choice([Reaction("thumbs_down", wrong=True), Reaction("rating", 1, wrong=True)])
            if r < 0.25:
                return Reaction("copy", answer)
            if r < 0.6:
                return Reaction("thumbs_up")
            if r < 0.7:
                return Reaction("rating", 5)
            return Reaction("nothing")
        if r < 0.25 and turn < 2:
            then = Reaction("rephrase")
        elif r < 0.55:
            wrong = self.rng.random() < self.wrong_correction
            then = Reaction("correct", self._other(exclude=answer) if wrong else self.intent, wrong=wrong)
        elif r < 0.65:
            then = Reaction("not_right")
        elif r < 0.8:
            then = Reaction("leave" if careless else "thumbs_down")
        elif r < 0.9:
            then = Reaction("human")
        else:
            then = Reaction("leave")
        if careless:  # approves the wrong answer by mistake, then carries on
            then.click = self.rng.choice([Reaction("thumbs_up", wrong=True), Reaction("copy", answer, wrong=True),
                                          Reaction("rating", 5, wrong=True)])
        return then

    def _other(self, exclude: str | None = None) -> str:
        options = [i for i in self.domain_intents if i not in (self.intent, exclude)]
        return self.rng.choice(options) if options else self.intent

    def next_question(self, pool: Sequence[str]) -> str | None:
        options = [q for q in pool if q not in self.asked]
        if not options:
            return None
        question = self.rng.choice(options)
        self.asked.append(question)
        return question


NOT_RIGHT = ("That's not right.", "No, that's wrong.", "That is not what I asked.")
HUMAN = ("Can I talk to a human, please?", "Let me speak to a person.", "Connect me to a human agent.")
