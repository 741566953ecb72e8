"""The turn's text: what the user said and what the agent answered, from any chain's payloads.

Real LangChain / LangGraph runs with fake chat models; the rules are in flywheel_middleware/turn_text.py.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from dataclasses import dataclass
from typing import Any, TypedDict

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langgraph")

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate  # noqa: E402
from langchain_core.runnables import RunnableLambda  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from flywheel_middleware import Flywheel, Interaction  # noqa: E402
from flywheel_middleware.adapters.langchain import make_handler  # noqa: E402
from flywheel_middleware.records import Step  # noqa: E402
from flywheel_middleware.tracing import setup_tracing  # noqa: E402
from flywheel_middleware.turn_text import TurnText, input_text_of, output_text_of, turn_text  # noqa: E402


class Recorder:
    """The narrow recorder protocol, in memory."""

    def __init__(self, tracer_provider: Any = None) -> None:
        self.tracer_provider = tracer_provider
        self.records: list[Interaction] = []
        self._lock = threading.Lock()

    def record(self, interaction: Interaction) -> str:
        with self._lock:
            self.records.append(interaction)
        return interaction.id

    def add_signal(self, signal: Any) -> bool:
        return True

    def current_session(self) -> tuple[None, None]:
        return None, None

    def count(self, name: str, n: int = 1) -> None:
        pass

    def one(self) -> Interaction:
        assert len(self.records) == 1
        return self.records[0]


class ToolModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def model(*answers: str) -> ToolModel:
    return ToolModel(messages=iter([AIMessage(content=a) for a in answers]))


def run(chain: Any, inputs: Any) -> Interaction:
    rec = Recorder()
    chain.invoke(inputs, config={"callbacks": [make_handler(rec)]})
    return rec.one()


# -- the rules on payloads alone -------------------------------------------------------------------

PROMPT_STEP = Step(kind="llm", name="m", inputs=[{"role": "system", "content": "Be brief."},
                                                 {"role": "user", "content": "Question: where is my parcel"}],
                   outputs={"role": "assistant", "content": "It ships today."})


@pytest.mark.parametrize(("payload", "expected"), [
    ("plain words", ("plain words", "root")),
    ({"question": "q?", "context": "c"}, ("q?", "root")),
    ({"messages": [("user", "hello"), ("assistant", "hi"), ("user", "bye")]}, ("bye", "root")),
    ([{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "multi"}]}], ("multi", "root")),
    ({"q": "where is my parcel"}, ("where is my parcel", "value")),
    ({"n": 3, "unit": "kg", "note": None}, ("kg", "value")),
    ({"n": 3, "flag": True}, ("n: 3; flag: true", "rendering")),
    (42, ("42", "rendering")),
    (None, ("", "empty")),
    (object(), ("", "empty")),  # a default repr names a class and an address, not what the user said
])
def test_input_rules_without_an_llm_call(payload: Any, expected: tuple[str, str]) -> None:
    assert input_text_of(payload) == expected


def test_an_unrecognised_input_takes_the_first_llm_calls_last_human_message() -> None:
    assert input_text_of({"topic": "parcels", "tone": "dry"}, [PROMPT_STEP]) == ("Question: where is my parcel", "llm")
    # the single input value found inside that prompt is the user's own words, without the template
    assert input_text_of({"customer_message": "where is my parcel", "tier": 2}, [PROMPT_STEP]) == ("where is my parcel", "llm")


def test_output_rules() -> None:
    assert output_text_of({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "done"}]}) == ("done", "root")
    assert output_text_of({"question": "q", "answer": "the answer"}) == ("the answer", "root")
    assert output_text_of({"ticket": {"id": 7}}, [PROMPT_STEP]) == ("It ships today.", "llm")
    assert output_text_of(None) == ("", "empty")


def test_old_records_without_text_get_it_derived_and_new_ones_round_trip() -> None:
    old = {"schema_version": 1, "id": "x", "input": {"q": "hi there"}, "output": "hello", "started_at": 1.0}
    it = Interaction.from_dict(old)
    assert it.text is None and it.input_text == "hi there" and it.output_text == "hello"
    it.fill_text()
    again = Interaction.from_dict(json.loads(json.dumps(it.to_dict())))
    assert again.text == TurnText("hi there", "hello", "value", "root")
    assert again.to_dict()["schema_version"] == 2


# -- real LangChain / LangGraph runs ----------------------------------------------------------------


def test_prompt_variable_with_a_custom_name() -> None:
    prompt = ChatPromptTemplate.from_messages([("system", "You answer support questions."), ("human", "Customer asks: {q}")])
    it = run(prompt | model("Use the reset link.") | StrOutputParser(), {"q": "How do I reset my password?"})
    assert it.input == {"q": "How do I reset my password?"}  # the raw input is kept
    assert it.input_text == "How do I reset my password?"
    assert it.output_text == "Use the reset link."
    assert (it.text.input_from, it.text.output_from) == ("llm", "root")


def test_several_prompt_variables_take_the_prompt_the_model_saw() -> None:
    prompt = ChatPromptTemplate.from_messages([("human", "Write a {style} note about {topic}.")])
    it = run(prompt | model("A note."), {"topic": "late parcels", "style": "short"})
    assert it.input_text == "Write a short note about late parcels."
    assert it.output_text == "A note."


def test_customer_message_without_any_llm_call() -> None:
    it = run(RunnableLambda(lambda d: f"ticket for {d['customer_message']}"), {"customer_message": "my card was charged twice", "priority": 2})
    assert it.input_text == "my card was charged twice" and it.text.input_from == "value"
    assert it.output_text == "ticket for my card was charged twice"


def test_completion_prompt_template() -> None:
    prompt = PromptTemplate.from_template("Translate to French: {sentence}")
    it = run(prompt | model("Bonjour") | StrOutputParser(), {"sentence": "hello"})
    assert it.input_text == "hello"


@dataclass
class Ticket:
    subject: str
    body: str


class Opaque:
    def __init__(self, words: str) -> None:
        self.words = words


@pytest.mark.parametrize(("inputs", "expected"), [
    ("What time is it?", "What time is it?"),
    (17, "Question number 17"),
    (Ticket("refund", "I want my money back"), "refund"),  # the one field the prompt used
    (Opaque("where is my order"), "Question number where is my order"),
    (None, "Question number None"),
])
def test_non_mapping_inputs(inputs: Any, expected: str) -> None:
    def to_prompt(value: Any) -> list[Any]:
        if isinstance(value, str):
            return [HumanMessage(value)]
        shown = value.subject if isinstance(value, Ticket) else getattr(value, "words", value)
        return [SystemMessage("Be brief."), HumanMessage(f"Question number {shown}")]

    it = run(RunnableLambda(to_prompt) | model("ok") | StrOutputParser(), inputs)
    assert it.input_text == expected
    assert it.output_text == "ok"


def test_message_list_to_a_chat_model() -> None:
    it = run(model("Fine, thanks."), [SystemMessage("Be nice."), HumanMessage("How are you?")])
    assert it.input_text == "How are you?" and it.output_text == "Fine, thanks."


class Support(TypedDict, total=False):
    customer_message: str
    draft: str


def test_langgraph_state_with_custom_keys() -> None:
    llm = model("We are sorry, a refund is on its way.")

    def write(state: Support) -> Support:
        reply = llm.invoke([HumanMessage(state["customer_message"])])
        return {"draft": str(reply.content)}

    g = StateGraph(Support)
    g.add_node("write", write)
    g.add_edge(START, "write")
    g.add_edge("write", END)
    it = run(g.compile(), {"customer_message": "I was charged twice"})
    assert it.input_text == "I was charged twice"
    assert it.output_text == "We are sorry, a refund is on its way."


def test_react_agent_root_span_shows_the_turns_text_and_keeps_the_state() -> None:
    from langgraph.prebuilt import create_react_agent

    exporter = InMemorySpanExporter()
    tracing = setup_tracing(exporter=exporter, use_env=False)
    rec = Recorder(tracing.tracer_provider)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agent = create_react_agent(model("It is sunny."), [])
    agent.invoke({"messages": [("user", "Weather in Paris?")]}, config={"callbacks": [make_handler(rec)]})
    tracing.flush()
    root = next(s for s in exporter.get_finished_spans() if s.parent is None)
    tracing.shutdown()
    assert root.attributes["input.value"] == "Weather in Paris?"
    assert root.attributes["output.value"] == "It is sunny."
    assert root.attributes["input.mime_type"] == "text/plain"
    assert "Weather in Paris?" in root.attributes["flywheel.raw_input.value"]
    assert "messages" in json.loads(root.attributes["flywheel.raw_input.value"])
    assert root.attributes["flywheel.raw_input.mime_type"] == "application/json"
    assert "flywheel.turn.input" not in root.attributes
    assert rec.one().text == TurnText("Weather in Paris?", "It is sunny.", "root", "root")


# -- the worker: an empty text is counted, logged once, neither embedded nor judged -----------------


def test_a_turn_without_text_is_counted_logged_once_and_not_embedded(tmp_path: Any, embedder: Any,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), Flywheel(tmp_path / "fw", embedder=embedder, worker_mode="thread",
                                                    flush_interval_s=0.05) as fw:
        handler = fw.langchain()
        chain = RunnableLambda(lambda _: {"status": 204})
        for _ in range(2):
            chain.invoke(None, config={"callbacks": [handler], "metadata": {"session_id": "s"}})
        chain2 = ChatPromptTemplate.from_messages([("human", "{q}")]) | model("a") | StrOutputParser()
        chain2.invoke({"q": "where is my order"}, config={"callbacks": [handler], "metadata": {"session_id": "s"}})
        assert fw.flush(60)
        stats = fw.stats()
        assert stats["counters"]["empty_turn_text"] == 2
        assert stats["interactions"] == 3 and stats["embedded"] == 1
        assert not stats["signals_by_kind"].get("rephrase")
    warnings_logged = [r for r in caplog.records if "no readable input text" in r.getMessage()]
    assert len(warnings_logged) == 1
    assert "None" in warnings_logged[0].getMessage()


def test_turn_text_of_an_interaction_built_by_hand() -> None:
    it = Interaction(input={"ask": "How late is the shop open?"}, output={"reply": "Until 8."})
    assert turn_text(it) == TurnText("How late is the shop open?", "Until 8.", "value", "value")
