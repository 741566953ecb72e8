"""LlamaIndex capture: real llama-index-core engines over in-memory documents, a deterministic LLM.

The LLM (``RuleLLM``, a ``CustomLLM``) answers selector prompts with the JSON choice the output
parser expects, sub-question prompts with the ``{"items": [...]}`` JSON, and synthesis prompts with
the context sentence that best matches the question. Embeddings are a hashing bag of words.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core import Document, PromptTemplate, QueryBundle, VectorStoreIndex  # noqa: E402
from llama_index.core.base.base_query_engine import BaseQueryEngine  # noqa: E402
from llama_index.core.base.base_selector import BaseSelector, MultiSelection, SingleSelection  # noqa: E402
from llama_index.core.base.embeddings.base import BaseEmbedding  # noqa: E402
from llama_index.core.base.response.schema import Response, StreamingResponse  # noqa: E402
from llama_index.core.chat_engine.types import BaseChatEngine, StreamingAgentChatResponse  # noqa: E402
from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata  # noqa: E402
from llama_index.core.llms.callbacks import llm_completion_callback  # noqa: E402
from llama_index.core.query_engine import RouterQueryEngine, SubQuestionQueryEngine  # noqa: E402
from llama_index.core.question_gen import LLMQuestionGenerator  # noqa: E402
from llama_index.core.selectors import LLMMultiSelector, LLMSingleSelector  # noqa: E402
from llama_index.core.tools import QueryEngineTool  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from pydantic import Field  # noqa: E402

from flywheel_middleware import Flywheel, Interaction  # noqa: E402
from flywheel_middleware.adapters import llamaindex as li  # noqa: E402
from flywheel_middleware.adapters.llamaindex import FlywheelChatEngine, FlywheelQueryEngine  # noqa: E402

# --------------------------------------------------------------------------------------------------
# deterministic local models
# --------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the of to in on and or is are was what which who how do does for with about me tell can i my it "
    "be by at as from that this there their when where".split()
)


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


class HashEmbedding(BaseEmbedding):
    """A bag-of-words hashed into 64 dimensions, L2-normalised: deterministic, no model."""

    dim: int = 64

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for w in words(text):
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = sum(x * x for x in v) ** 0.5 or 1.0
        return [x / n for x in v]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vec(text)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


class RuleLLM(CustomLLM):
    """Answers like a (very literal) LLM would, following each prompt's output format."""

    prompts: list[str] = Field(default_factory=list)
    fail_with: str | None = None
    delay_s: float = 0.0

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="rule-llm", is_chat_model=False)

    def answer(self, prompt: str) -> str:
        if self.fail_with and self.fail_with in prompt:
            raise RuntimeError("the model is down")
        if "Some choices are given below" in prompt:
            query = re.search(r"question: '(.*?)'\n", prompt, re.S).group(1)  # type: ignore[union-attr]
            choices = re.findall(r"\((\d+)\) (.*?)(?=\n\n\(\d+\)|\n---)", prompt, re.S)
            scored = sorted(((len(words(d) & words(query)), -int(i), int(i), d) for i, d in choices), reverse=True)
            multi = "top choices" in prompt
            picked = [s for s in scored if s[0] > 0] if multi else scored[:1]
            return json.dumps([{"choice": i, "reason": f"the question is about {d.strip()}"} for _, _, i, d in picked or scored[:1]])
        if "<User Question>" in prompt:
            tools_json = re.findall(r"```json\n(.*?)\n```", prompt, re.S)[-1]
            tools = json.loads(tools_json)
            question = prompt.rsplit("<User Question>\n", 1)[1].split("\n\n<Output>")[0].strip()
            items = [
                {"sub_question": f"What does the {name} guide say about {question.rstrip('?')}?", "tool_name": name}
                for name, desc in tools.items()
                if words(desc) & words(question) or name in question.lower()
            ]
            return "```json\n" + json.dumps({"items": items}) + "\n```"
        if "<Follow Up Message>" in prompt:
            return prompt.split("<Follow Up Message>\n", 1)[1].split("\n\n<Standalone question>")[0].strip()
        if "Standalone question:" in prompt:
            return re.search(r"Follow Up Input: (.*)", prompt).group(1).strip()  # type: ignore[union-attr]
        if "We have provided an existing answer:" in prompt:
            return re.search(r"existing answer: (.*)", prompt).group(1).strip()  # type: ignore[union-attr]
        query = ""
        for pattern in (r"Query: (.*)", r"user: (.*)"):
            found = re.findall(pattern, prompt)
            if found:
                query = found[-1]
                break
        body = prompt
        if "Examples of questions that were answered well before:" in prompt:  # skip the few-shot block
            head, rest = prompt.split("Examples of questions that were answered well before:", 1)
            body = head + rest.split("---------------------\n", 1)[1]
        candidates = [s for s in _sentences(body) if query not in s and ":" not in s[:20]]
        best = max(candidates, key=lambda s: len(words(s) & words(query)), default="")
        return best if best and words(best) & words(query) else "I don't know."

    def _usage(self, prompt: str, text: str) -> dict[str, Any]:
        n, m = len(prompt.split()), len(text.split())
        return {"usage": {"prompt_tokens": n, "completion_tokens": m, "total_tokens": n + m}}

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.prompts.append(prompt)
        if self.delay_s:
            time.sleep(self.delay_s)
        text = self.answer(prompt)
        return CompletionResponse(text=text, raw=self._usage(prompt, text))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        self.prompts.append(prompt)
        text = self.answer(prompt)
        usage = self._usage(prompt, text)

        def gen() -> CompletionResponseGen:
            acc = ""
            pieces = text.split(" ")
            for i, w in enumerate(pieces):
                delta = (" " if acc else "") + w
                acc += delta
                yield CompletionResponse(text=acc, delta=delta, raw=usage if i == len(pieces) - 1 else None)

        return gen()


GEOGRAPHY = [
    "Paris is the capital of France. The Eiffel tower stands in Paris.",
    "Berlin is the capital of Germany. The Brandenburg gate stands in Berlin.",
]
PROGRAMMING = [
    "Python is a programming language with dynamic typing. Python uses indentation for blocks.",
    "Rust is a programming language focused on memory safety. Rust has a borrow checker.",
]
REFUNDS = ["Refunds are issued within 14 days of a return. Refunds go back to the original card."]


def vector_engine(texts: list[str], llm: RuleLLM, **kwargs: Any) -> BaseQueryEngine:
    docs = [Document(text=t, metadata={"source": f"doc{i}"}) for i, t in enumerate(texts)]
    index = VectorStoreIndex.from_documents(docs, embed_model=HashEmbedding())
    return index.as_query_engine(llm=llm, similarity_top_k=kwargs.pop("similarity_top_k", 1), **kwargs)


def tools(llm: RuleLLM, **kwargs: Any) -> list[QueryEngineTool]:
    return [
        QueryEngineTool.from_defaults(vector_engine(GEOGRAPHY, llm, **kwargs), name="geography",
                                      description="Questions about geography, countries and capital cities"),
        QueryEngineTool.from_defaults(vector_engine(PROGRAMMING, llm, **kwargs), name="programming",
                                      description="Questions about programming languages like Python and Rust"),
    ]


def router(llm: RuleLLM, multi: bool = False, **kwargs: Any) -> RouterQueryEngine:
    selector = (LLMMultiSelector if multi else LLMSingleSelector).from_defaults(llm=llm)
    return RouterQueryEngine(selector=selector, query_engine_tools=tools(llm, **kwargs), llm=llm)


def chat_engine(llm: RuleLLM, mode: str = "condense_plus_context") -> BaseChatEngine:
    index = VectorStoreIndex.from_documents([Document(text=t) for t in GEOGRAPHY], embed_model=HashEmbedding())
    return index.as_chat_engine(chat_mode=mode, llm=llm, similarity_top_k=1)


# --------------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def fw(store_path: Path, embedder) -> Iterator[Flywheel]:
    """A real flywheel whose ``record`` also keeps the raw (unredacted) interactions for assertions."""
    wheel = Flywheel(store_path, embedder=embedder, flush_interval_s=0.05)
    wheel.captured = []  # type: ignore[attr-defined]
    original = wheel.record

    def record(interaction: Any) -> str | None:
        wheel.captured.append(interaction)  # type: ignore[attr-defined]
        return original(interaction)

    wheel.record = record  # type: ignore[method-assign]
    yield wheel
    wheel.close()


@pytest.fixture
def traced(store_path: Path, embedder) -> Iterator[tuple[Flywheel, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    wheel = Flywheel(store_path, embedder=embedder, flush_interval_s=0.05, tracer_provider=provider)
    wheel.captured = []  # type: ignore[attr-defined]
    original = wheel.record

    def record(interaction: Any) -> str | None:
        wheel.captured.append(interaction)  # type: ignore[attr-defined]
        return original(interaction)

    wheel.record = record  # type: ignore[method-assign]
    yield wheel, exporter
    wheel.close()


def only(fw: Flywheel) -> Interaction:
    captured = fw.captured  # type: ignore[attr-defined]
    assert len(captured) == 1, [c.input for c in captured]
    return captured[0]


def steps(it: Interaction, kind: str) -> list[Any]:
    return [s for s in it.steps if s.kind == kind]


# --------------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------------


def test_wrapper_is_a_drop_in(fw: Flywheel) -> None:
    llm = RuleLLM()
    inner = vector_engine(PROGRAMMING, llm)
    engine = fw.llamaindex(inner)
    assert isinstance(engine, FlywheelQueryEngine) and isinstance(engine, BaseQueryEngine)
    assert engine.wrapped is inner
    assert engine.get_prompts().keys() == inner.get_prompts().keys()
    assert engine.retriever is inner.retriever  # unknown attributes come from the engine
    nodes = engine.retrieve(QueryBundle("What is Rust?"))
    assert nodes and "Rust" in nodes[0].node.get_content()
    assert fw.captured == []  # type: ignore[attr-defined] # retrieve() is not a turn

    response = engine.query("What checker does Rust have?")
    assert type(response) is Response
    assert str(response) == "Rust has a borrow checker."
    assert response.metadata["flywheel_interaction_id"] == only(fw).id
    assert response.source_nodes and "Rust" in response.source_nodes[0].node.get_content()

    # update_prompts reaches the engine's synthesizer; the LLM sees the new template
    engine.update_prompts({"response_synthesizer:text_qa_template": PromptTemplate("CUSTOM {context_str}\nQuery: {query_str}\n")})
    assert "CUSTOM" in engine.get_prompts()["response_synthesizer:text_qa_template"].get_template()
    engine.query("What does Python use for blocks?")
    assert llm.prompts[-1].startswith("CUSTOM ")
    assert not fw.stats()["counters"].get("llamaindex.callback_errors")
    with pytest.raises(TypeError):
        fw.llamaindex(object())


def test_query_captures_retrieval_llm_and_usage_and_reaches_the_store(fw: Flywheel) -> None:
    engine = fw.llamaindex(vector_engine(GEOGRAPHY + PROGRAMMING, RuleLLM(), similarity_top_k=2), model_version="v7")
    response = engine.query("Which gate stands in Berlin?")
    it = only(fw)
    assert it.input == "Which gate stands in Berlin?"
    assert it.output == "The Brandenburg gate stands in Berlin." == str(response)
    assert it.status == "ok" and it.metadata["framework"] == "llamaindex" and it.metadata["engine"] == "RetrieverQueryEngine"
    (ret,) = steps(it, "retrieval")
    assert ret.inputs == "Which gate stands in Berlin?" and ret.name == "VectorIndexRetriever"
    assert len(ret.outputs) == 2 and ret.metadata["n_nodes"] == 2
    first = ret.outputs[0]
    assert set(first) == {"id", "text", "score", "metadata"}
    assert "Brandenburg" in first["text"] and first["metadata"] == {"source": "doc1"}
    assert first["score"] == ret.metadata["top_score"] and first["score"] >= ret.outputs[1]["score"]
    (llm,) = steps(it, "llm")
    assert llm.name == "rule-llm" and "Brandenburg" in llm.inputs and "Query: Which gate" in llm.inputs
    assert llm.outputs == it.output and llm.metadata["prompt_type"] == "text_qa"
    assert llm.metadata["token_usage"]["output_tokens"] == 6
    assert it.metadata["token_usage"] == llm.metadata["token_usage"]
    assert it.model_version == "v7"
    assert (it.text.input, it.text.output) == ("Which gate stands in Berlin?", "The Brandenburg gate stands in Berlin.")

    assert fw.flush(60)
    stored = fw.get(it.id)
    assert stored is not None and stored.steps[0].kind == "retrieval"
    assert stored.input_text == "Which gate stands in Berlin?"
    assert [s.kind for s in stored.steps] == ["retrieval", "llm"]
    assert stored.steps[0].outputs[0]["score"] == first["score"]


def test_router_choice_is_a_routing_decision(fw: Flywheel) -> None:
    llm = RuleLLM()
    engine = fw.llamaindex(router(llm), name="docs-router")
    response = engine.query("Which programming language has a borrow checker?")
    assert str(response) == "Rust has a borrow checker."
    it = only(fw)
    (d,) = it.decisions
    assert d.decider == "router" and d.name == "docs-router"
    assert d.candidates == ["geography", "programming"]
    assert d.chosen == "programming"
    assert d.reason == "the question is about Questions about programming languages like Python and Rust"
    assert d.metadata["indices"] == [1] and d.metadata["selector"] == "LLMSingleSelector"
    assert d.metadata["choices"][0]["description"].startswith("Questions about geography")
    selector_call, answer_call = steps(it, "llm")
    assert selector_call.metadata["caller"] == "LLMSingleSelector._select"
    assert selector_call.metadata["prompt_type"] == "single_select"
    assert answer_call.metadata["tool"] == "programming"
    (ret,) = steps(it, "retrieval")
    assert ret.metadata["tool"] == "programming" and "borrow checker" in ret.outputs[0]["text"]
    assert response.metadata["selector_result"].inds == [1]

    # without a name, the router is named after its class
    plain = fw.llamaindex(router(llm))
    plain.query("What is the capital of France?")
    d2 = fw.captured[-1].decisions[0]  # type: ignore[attr-defined]
    assert (d2.name, d2.chosen) == ("RouterQueryEngine", "geography")


def test_multi_selector_router_chooses_several(fw: Flywheel) -> None:
    engine = fw.llamaindex(router(RuleLLM(), multi=True))
    engine.query("Python programming in the capital cities of countries")
    (d,) = only(fw).decisions
    assert d.chosen == ["geography", "programming"] or d.chosen == ["programming", "geography"]
    assert len(d.metadata["reasons"]) == 2 and "; " in d.reason
    assert {s.metadata.get("tool") for s in steps(only(fw), "retrieval")} == {"geography", "programming"}


def test_router_decision_falls_back_to_response_metadata(fw: Flywheel) -> None:
    class FixedSelector(BaseSelector):
        """Overrides ``select`` itself (no span): the choice is only on the response."""

        def _get_prompts(self) -> dict[str, Any]:
            return {}

        def _update_prompts(self, prompts: Any) -> None:
            pass

        def select(self, choices: Any, query: Any) -> MultiSelection:
            return MultiSelection(selections=[SingleSelection(index=0, reason="always the first")])

        def _select(self, choices: Any, query: Any) -> MultiSelection:
            raise AssertionError("not used")

        async def _aselect(self, choices: Any, query: Any) -> MultiSelection:
            raise AssertionError("not used")

    llm = RuleLLM()
    engine = fw.llamaindex(RouterQueryEngine(selector=FixedSelector(), query_engine_tools=tools(llm), llm=llm))
    engine.query("Anything?")
    (d,) = only(fw).decisions
    assert (d.decider, d.chosen, d.reason, d.metadata["from"]) == ("router", "geography", "always the first", "response.metadata")
    assert d.candidates == ["geography", "programming"]


def test_sub_question_engine_records_each_sub_question_and_its_engine(fw: Flywheel) -> None:
    llm = RuleLLM()
    sq = SubQuestionQueryEngine.from_defaults(
        query_engine_tools=tools(llm), llm=llm, question_gen=LLMQuestionGenerator.from_defaults(llm=llm), use_async=False
    )
    engine = fw.llamaindex(sq)
    response = engine.query("Compare Python programming with the capital of Germany")
    it = only(fw)
    subs = [d for d in it.decisions if d.decider == "sub_question"]
    assert [d.chosen for d in subs] == ["geography", "programming"]
    assert all(d.candidates == ["geography", "programming"] and d.name == "SubQuestionQueryEngine" for d in subs)
    assert subs[0].metadata["sub_question"].startswith("What does the geography guide say about")
    assert subs[0].metadata["answer"] == "Berlin is the capital of Germany."
    assert subs[1].metadata["answer"].startswith("Python")
    assert subs[0].metadata["source_node_ids"]
    chains = [s for s in it.steps if s.name.startswith("sub_question:")]
    assert [c.metadata["tool"] for c in chains] == ["geography", "programming"]
    assert chains[0].outputs == subs[0].metadata["answer"] and chains[0].ended_at is not None
    assert {s.metadata.get("tool") for s in steps(it, "retrieval")} == {"geography", "programming"}
    assert it.output == str(response)
    gen_call = steps(it, "llm")[0]
    assert gen_call.metadata["caller"] == "LLMQuestionGenerator.generate"


async def test_async_query_and_async_sub_questions(fw: Flywheel) -> None:
    llm = RuleLLM()
    engine = fw.llamaindex(router(llm))
    response = await engine.aquery("Which gate stands in Berlin?", session_id="async-s", user_id="async-u")
    assert str(response) == "The Brandenburg gate stands in Berlin."
    it = only(fw)
    assert (it.session_id, it.user_id) == ("async-s", "async-u")
    assert it.decisions[0].chosen == "geography" and steps(it, "retrieval")

    sq = fw.llamaindex(SubQuestionQueryEngine.from_defaults(
        query_engine_tools=tools(llm), llm=llm, question_gen=LLMQuestionGenerator.from_defaults(llm=llm)))
    await sq.aquery("Compare Python programming with the capital of Germany")
    it2 = fw.captured[-1]  # type: ignore[attr-defined]
    subs = [d for d in it2.decisions if d.decider == "sub_question"]
    assert sorted(d.chosen for d in subs) == ["geography", "programming"]
    assert all(d.metadata.get("answer") for d in subs)


def test_streaming_query_finishes_when_consumed_and_aborts_when_closed(fw: Flywheel) -> None:
    engine = fw.llamaindex(vector_engine(PROGRAMMING, RuleLLM(), streaming=True))
    response = engine.query("What checker does Rust have?")
    assert isinstance(response, StreamingResponse)
    assert fw.captured == []  # type: ignore[attr-defined] # not before the stream is read
    assert "".join(response.response_gen) == "Rust has a borrow checker."
    it = only(fw)
    assert it.output == "Rust has a borrow checker." and it.status == "ok"
    assert response.metadata["flywheel_interaction_id"] == it.id
    (llm,) = steps(it, "llm")
    assert llm.outputs == "Rust has a borrow checker." and llm.metadata["token_usage"]["total_tokens"] > 0

    stopped = engine.query("What does Python use for blocks?")
    gen = stopped.response_gen
    next(gen)
    gen.close()
    last = fw.captured[-1]  # type: ignore[attr-defined]
    assert last.status == "aborted" and last.output == "Python"
    assert fw.flush(60)
    (abort,) = fw.signals(last.id)
    assert abort.kind == "abort" and abort.evidence["reason"] == "stream_closed"


async def test_async_streaming_query(fw: Flywheel) -> None:
    engine = fw.llamaindex(vector_engine(PROGRAMMING, RuleLLM(), streaming=True))
    response = await engine.aquery("What checker does Rust have?")
    text = "".join([t async for t in response.async_response_gen()]) if hasattr(response, "async_response_gen") else "".join(response.response_gen)
    assert text == "Rust has a borrow checker."
    assert only(fw).output == text


@pytest.mark.parametrize("mode", ["condense_plus_context", "context", "condense_question"])
def test_chat_engine_turns_sync_and_streaming(fw: Flywheel, mode: str) -> None:
    engine = fw.llamaindex(chat_engine(RuleLLM(), mode), session_id="chat-1", user_id="ann")
    assert isinstance(engine, FlywheelChatEngine) and isinstance(engine, BaseChatEngine)
    reply = engine.chat("Where does the Eiffel tower stand?")
    assert str(reply) == "The Eiffel tower stands in Paris."
    assert reply.metadata["flywheel_interaction_id"] == fw.captured[0].id  # type: ignore[attr-defined]
    streamed = engine.stream_chat("Which gate stands in Berlin?")
    assert isinstance(streamed, StreamingAgentChatResponse)
    assert "".join(streamed.response_gen).strip() == "The Brandenburg gate stands in Berlin."
    first, second = fw.captured  # type: ignore[attr-defined]
    assert (first.input, first.output, first.session_id, first.user_id) == (
        "Where does the Eiffel tower stand?", "The Eiffel tower stands in Paris.", "chat-1", "ann")
    assert second.output == "The Brandenburg gate stands in Berlin." and second.metadata["method"] == "stream_chat"
    for it in (first, second):
        assert steps(it, "retrieval") and steps(it, "llm") and it.status == "ok"
        assert it.text is not None and it.text.input == it.input and it.text.output == it.output
    assert len(engine.chat_history) == 4
    engine.reset()
    assert engine.chat_history == []


async def test_async_chat_and_async_stream_chat(fw: Flywheel) -> None:
    engine = fw.llamaindex(chat_engine(RuleLLM(), "context"))
    with fw.session("achat", "bob"):
        reply = await engine.achat("Where does the Eiffel tower stand?")
        streamed = await engine.astream_chat("Which gate stands in Berlin?")
        text = "".join([t async for t in streamed.async_response_gen()])
    assert str(reply) == "The Eiffel tower stands in Paris." and text.strip() == "The Brandenburg gate stands in Berlin."
    for _ in range(100):  # the history writer task finishes right after the last token
        if len(fw.captured) == 2:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.01)
    a, b = fw.captured  # type: ignore[attr-defined]
    assert (a.session_id, b.session_id, b.user_id) == ("achat", "achat", "bob")
    assert b.output == "The Brandenburg gate stands in Berlin." and b.metadata["method"] == "astream_chat"


def test_session_precedence_call_then_context_then_wrapper(fw: Flywheel) -> None:
    engine = fw.llamaindex(vector_engine(PROGRAMMING, RuleLLM()), session_id="wrapper-s", user_id="wrapper-u")
    engine.query("What is Python?")
    with fw.session("ctx-s", "ctx-u"):
        engine.query("What is Python?")
        engine.query("What is Python?", session_id="call-s", user_id="call-u")
    got = [(i.session_id, i.user_id) for i in fw.captured]  # type: ignore[attr-defined]
    assert got == [("wrapper-s", "wrapper-u"), ("ctx-s", "ctx-u"), ("call-s", "call-u")]


def test_two_threads_two_sessions_keep_their_own_steps(fw: Flywheel) -> None:
    llm = RuleLLM(delay_s=0.002)
    engine = fw.llamaindex(router(llm))
    questions = {"geo": "Which gate stands in Berlin?", "code": "Which programming language has a borrow checker?"}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker(session: str) -> None:
        try:
            barrier.wait()
            for i in range(6):
                with fw.session(session, f"user-{session}"):
                    engine.query(questions[session])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    captured = fw.captured  # type: ignore[attr-defined]
    assert len(captured) == 12
    for it in captured:
        session = it.session_id
        assert it.input == questions[session] and it.user_id == f"user-{session}"
        expected = "geography" if session == "geo" else "programming"
        assert [d.chosen for d in it.decisions] == [expected]
        (ret,) = steps(it, "retrieval")
        assert ret.metadata["tool"] == expected and ret.inputs == questions[session]
        assert len(steps(it, "llm")) == 2
    assert len({it.id for it in captured}) == 12
    assert not li._REG.spans or all(not info.turn.done or info.open for info in li._REG.spans.values())


def test_a_failure_inside_the_capture_never_breaks_the_query(fw: Flywheel, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise ValueError("bug in the capture")

    monkeypatch.setattr(li._Turn, "on_event", explode)
    monkeypatch.setattr(li._Turn, "_router_decision", explode)
    engine = fw.llamaindex(router(RuleLLM()))
    response = engine.query("Which gate stands in Berlin?")
    assert str(response) == "The Brandenburg gate stands in Berlin."
    it = only(fw)
    assert it.output == str(response)
    (d,) = it.decisions  # the selector's span was lost; the response still names the choice
    assert d.chosen == "geography" and d.metadata["from"] == "response.metadata"
    counters = fw.stats()["counters"]
    assert counters["llamaindex.callback_errors"] >= 2
    assert counters["llamaindex.callback_errors.event"] >= 1 and counters["llamaindex.callback_errors.span_exit"] == 1
    assert "the query is unaffected" in caplog.text

    monkeypatch.setattr(li._Registry, "global_oi", explode)  # fails while starting the capture
    assert str(engine.query("What is the capital of France?")) == "Paris is the capital of France."
    assert fw.stats()["counters"]["llamaindex.callback_errors.begin"] == 1
    assert len(fw.captured) == 1  # type: ignore[attr-defined] # that call ran uncaptured


def test_recorder_that_raises_is_contained(fw: Flywheel, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = fw.llamaindex(vector_engine(PROGRAMMING, RuleLLM()))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(fw, "record", broken)
    monkeypatch.setattr(fw, "current_session", broken)
    assert str(engine.query("What checker does Rust have?")) == "Rust has a borrow checker."
    counters = fw.stats()["counters"]
    assert counters["llamaindex.callback_errors.record"] == 1 and counters["llamaindex.callback_errors.current_session"] == 1


def test_an_engine_error_is_recorded_and_raised(fw: Flywheel) -> None:
    engine = fw.llamaindex(vector_engine(PROGRAMMING, RuleLLM(fail_with="Query: What checker does Rust have?")))
    with pytest.raises(RuntimeError, match="the model is down"):
        engine.query("What checker does Rust have?")
    it = only(fw)
    assert it.status == "error" and it.error == "RuntimeError: the model is down"
    (llm,) = steps(it, "llm")
    assert llm.outputs is None


def test_nested_wrapped_engine_is_one_interaction(fw: Flywheel) -> None:
    llm = RuleLLM()
    inner = fw.llamaindex(vector_engine(PROGRAMMING, llm))
    outer = fw.llamaindex(RouterQueryEngine(
        selector=LLMSingleSelector.from_defaults(llm=llm),
        query_engine_tools=[QueryEngineTool.from_defaults(inner, name="programming", description="Programming languages"),
                            QueryEngineTool.from_defaults(vector_engine(GEOGRAPHY, llm), name="geography",
                                                          description="Countries and capital cities")],
        llm=llm,
    ))
    outer.query("Which programming language has a borrow checker?")
    it = only(fw)
    assert it.decisions[0].chosen == "programming" and steps(it, "retrieval")[0].metadata["tool"] == "programming"


def test_tracing_off_means_no_spans_and_no_trace_ids(fw: Flywheel) -> None:
    assert fw.tracer_provider is None
    fw.llamaindex(router(RuleLLM())).query("What is the capital of France?")
    assert "trace_id" not in only(fw).metadata


def test_spans_in_openinference_conventions_with_session_and_route(traced: tuple[Flywheel, InMemorySpanExporter]) -> None:
    fw, exporter = traced
    engine = fw.llamaindex(router(RuleLLM()), session_id="trace-s", user_id="trace-u")
    engine.query("Which programming language has a borrow checker?")
    it = only(fw)
    fw.tracer_provider.force_flush()
    spans = exporter.get_finished_spans()
    by_id = {format(s.context.span_id, "016x"): s for s in spans}
    root = by_id[it.metadata["span_id"]]
    assert root.parent is None and root.name == "RouterQueryEngine.query"
    assert format(root.context.trace_id, "032x") == it.metadata["trace_id"]
    assert all(s.context.trace_id == root.context.trace_id for s in spans)
    attrs = root.attributes
    assert attrs["session.id"] == "trace-s" and attrs["user.id"] == "trace-u"
    assert attrs["flywheel.interaction_id"] == it.id and attrs["flywheel.status"] == "ok"
    assert list(attrs["flywheel.routes"]) == ["programming"]
    assert attrs["openinference.span.kind"] == "CHAIN"
    kinds = [s.attributes.get("openinference.span.kind") for s in spans]
    assert kinds.count("LLM") >= 2 and "RETRIEVER" in kinds
    (selector,) = [s for s in spans if s.name == "LLMSingleSelector._select"]
    (event,) = [e for e in selector.events if e.name == li.ROUTE_EVENT]
    assert event.attributes["chosen"] == "programming" and list(event.attributes["candidates"]) == ["geography", "programming"]
    (retriever,) = [s for s in spans if s.name == "VectorIndexRetriever.retrieve"]
    assert "borrow checker" in retriever.attributes["retrieval.documents.0.document.content"]
    assert fw.flush(60) and fw.get(it.id).metadata["span_id"] == it.metadata["span_id"]

    # spans of engines that are not wrapped are not traced (the instrumentation is scoped)
    exporter.clear()
    vector_engine(PROGRAMMING, RuleLLM()).query("What is Rust?")
    fw.tracer_provider.force_flush()
    assert exporter.get_finished_spans() == ()


def test_streaming_root_span_ends_with_the_stream(traced: tuple[Flywheel, InMemorySpanExporter]) -> None:
    fw, exporter = traced
    engine = fw.llamaindex(vector_engine(PROGRAMMING, RuleLLM(), streaming=True))
    response = engine.query("What checker does Rust have?")
    "".join(response.response_gen)
    it = only(fw)
    fw.tracer_provider.force_flush()
    root = next(s for s in exporter.get_finished_spans() if format(s.context.span_id, "016x") == it.metadata["span_id"])
    assert root.attributes["flywheel.interaction_id"] == it.id and root.attributes["flywheel.status"] == "ok"


def _seed_good(fw: Flywheel, question: str, answer: str) -> str:
    it = Interaction(input=question, output=answer, session_id="history", user_id="rater")
    assert fw.record(it) == it.id
    fw.feedback(it.id, "thumbs_up", actor="rater")
    return it.id


def _settle(fw: Flywheel, n: int) -> None:
    assert fw.flush(120)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(fw.index) >= n and sum(fw.store.counts().rewards_by_label.values()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError("the worker did not settle")


def test_few_shot_examples_are_injected_and_recorded(traced: tuple[Flywheel, InMemorySpanExporter]) -> None:
    fw, exporter = traced
    good = _seed_good(fw, "Which programming language has a borrow checker?", "Rust has the borrow checker.")
    _seed_good(fw, "How do I bake sourdough bread?", "Feed the starter the day before.")
    _settle(fw, 2)
    fw.captured.clear()  # type: ignore[attr-defined]

    llm = RuleLLM()
    inner = router(llm)
    engine = fw.llamaindex(inner, few_shot=True, few_shot_k=2)
    assert "RetrieverQueryEngine:response_synthesizer:text_qa_template" in engine.few_shot_targets
    assert li.FEW_SHOT_VAR in engine.get_prompts()["summarizer:summary_template"].template_vars
    response = engine.query("Which programming language has the borrow checker?", session_id="live")
    assert str(response) == "Rust has a borrow checker."
    it = only(fw)
    assert it.few_shot_ids == [good]  # the bread example is below the similarity floor
    qa_prompt = next(p for p in llm.prompts if "Context information is below" in p)
    assert qa_prompt.startswith("Examples of questions that were answered well before:")
    assert "Question: Which programming language has a borrow checker?\nAnswer: Rust has the borrow checker." in qa_prompt
    assert "sourdough" not in qa_prompt
    selector_prompt = next(p for p in llm.prompts if "Some choices are given below" in p)
    assert "Examples of questions" not in selector_prompt  # routing prompts are left alone
    fw.tracer_provider.force_flush()
    root = next(s for s in exporter.get_finished_spans() if format(s.context.span_id, "016x") == it.metadata["span_id"])
    assert list(root.attributes["flywheel.few_shot_ids"]) == [good]

    # the same engine used outside a wrapped call formats an empty block
    llm.prompts.clear()
    inner.query("Which programming language has the borrow checker?")
    assert not any("Examples of questions" in p for p in llm.prompts)

    # a template swapped in through the wrapper keeps the block
    engine.update_prompts({"summarizer:summary_template": PromptTemplate("S {context_str} {query_str}")})
    assert engine.get_prompts()["summarizer:summary_template"].get_template().startswith("{few_shot_examples}S ")


def test_few_shot_into_a_chat_engine_context(fw: Flywheel) -> None:
    good = _seed_good(fw, "Where does the Eiffel tower stand?", "In Paris, France.")
    _settle(fw, 1)
    fw.captured.clear()  # type: ignore[attr-defined]
    llm = RuleLLM()
    engine = fw.llamaindex(chat_engine(llm, "context"), few_shot=True)
    assert engine.few_shot_targets == ["ContextChatEngine:context_template"]
    engine.chat("Where is the Eiffel tower?", session_id="other")
    assert only(fw).few_shot_ids == [good]
    assert "Answer: In Paris, France." in llm.prompts[-1]


def test_with_a_global_llamaindex_instrumentor_spans_are_not_duplicated(traced: tuple[Flywheel, InMemorySpanExporter]) -> None:
    from openinference.instrumentation.llama_index import LlamaIndexInstrumentor

    fw, exporter = traced
    instrumentor = LlamaIndexInstrumentor()
    instrumentor.instrument(tracer_provider=fw.tracer_provider)
    try:
        with fw.session("global-s", "global-u"):
            fw.llamaindex(router(RuleLLM())).query("What is the capital of France?")
    finally:
        instrumentor.uninstrument()
    it = only(fw)
    fw.tracer_provider.force_flush()
    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.name == "RouterQueryEngine.query"]
    assert len(roots) == 1  # traced once, by the global instrumentor
    assert format(roots[0].context.span_id, "016x") == it.metadata["span_id"]
    assert roots[0].attributes["session.id"] == "global-s" and roots[0].attributes["flywheel.interaction_id"] == it.id
    assert it.decisions[0].chosen == "geography"
