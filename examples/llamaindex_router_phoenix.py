"""A LlamaIndex router engine captured by the flywheel, offline, optionally traced to Phoenix.

    python examples/llamaindex_router_phoenix.py                                  # store only
    python examples/llamaindex_router_phoenix.py --phoenix http://127.0.0.1:6006  # + spans and annotations in Phoenix

1. builds two vector indexes over small in-memory documents (a hashing embedding, no model) and a
   ``RouterQueryEngine`` whose ``LLMSingleSelector`` and synthesizer use a deterministic local LLM
   (no network, no API key);
2. wraps it with ``fw.llamaindex(router, name="docs-router", few_shot=True)`` and asks questions in
   a session; each answer carries its interaction id in ``response.metadata``;
3. sends a thumbs up for a good answer (with a Phoenix URL it becomes an annotation on the turn's
   root span), and shows what the store kept: the retrieval with node scores, the router's choice,
   and, for a later similar question, the few-shot example injected into the prompt.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import tempfile
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from llama_index.core import Document, VectorStoreIndex  # noqa: E402
from llama_index.core.base.embeddings.base import BaseEmbedding  # noqa: E402
from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata  # noqa: E402
from llama_index.core.llms.callbacks import llm_completion_callback  # noqa: E402
from llama_index.core.query_engine import RouterQueryEngine  # noqa: E402
from llama_index.core.selectors import LLMSingleSelector  # noqa: E402
from llama_index.core.tools import QueryEngineTool  # noqa: E402

from flywheel_middleware import Flywheel  # noqa: E402
from flywheel_middleware.config import url_argument  # noqa: E402

_STOP = set("a an the of to in on and or is are what which who how do does for with can i my it be".split())


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP and len(w) > 1}


class HashEmbedding(BaseEmbedding):
    """Bag of words hashed into 64 dimensions: deterministic and instant."""

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * 64
        for w in words(text):
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % 64] += 1.0
        n = sum(x * x for x in v) ** 0.5 or 1.0
        return [x / n for x in v]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vec(text)


class LocalLLM(CustomLLM):
    """Picks a route by word overlap (answering in the selector's JSON format) and answers with the
    context sentence closest to the question."""

    last_prompt: str = ""

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="local-rules")

    def _answer(self, prompt: str) -> str:
        if "Some choices are given below" in prompt:
            query = re.search(r"question: '(.*?)'\n", prompt, re.S).group(1)  # type: ignore[union-attr]
            choices = re.findall(r"\((\d+)\) (.*?)(?=\n\n\(\d+\)|\n---)", prompt, re.S)
            i, desc = max(choices, key=lambda c: (len(words(c[1]) & words(query)), -int(c[0])))
            return json.dumps([{"choice": int(i), "reason": f"it is about {desc.strip().lower()}"}])
        query = re.findall(r"Query: (.*)", prompt)[-1]
        context = prompt.split("Context information is below.", 1)[-1]
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", context) if s.strip() and "Query:" not in s]
        best = max(sentences, key=lambda s: len(words(s) & words(query)), default="")
        return best if words(best) & words(query) else "I don't know."

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.last_prompt = prompt
        text = self._answer(prompt)
        n, m = len(prompt.split()), len(text.split())
        return CompletionResponse(text=text, raw={"usage": {"prompt_tokens": n, "completion_tokens": m, "total_tokens": n + m}})

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        response = self.complete(prompt, formatted=formatted)
        yield response


def build_router(llm: LocalLLM) -> RouterQueryEngine:
    def engine(texts: list[str]) -> Any:
        index = VectorStoreIndex.from_documents([Document(text=t) for t in texts], embed_model=HashEmbedding())
        return index.as_query_engine(llm=llm, similarity_top_k=1)

    billing = engine(["Refunds are issued within 14 days of a return.", "Invoices are sent on the first day of each month."])
    shipping = engine(["Parcels ship within two business days.", "Express delivery arrives the next day."])
    return RouterQueryEngine(
        selector=LLMSingleSelector.from_defaults(llm=llm),
        query_engine_tools=[
            QueryEngineTool.from_defaults(billing, name="billing", description="Billing: refunds, invoices and payments"),
            QueryEngineTool.from_defaults(shipping, name="shipping", description="Shipping: parcels, delivery times"),
        ],
        llm=llm,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phoenix", type=url_argument, metavar="URL", help="a running Phoenix, e.g. http://127.0.0.1:6006")
    parser.add_argument("--path", help="the store folder (default: a new temporary folder)")
    args = parser.parse_args(argv)
    run(args.phoenix, args.path or tempfile.mkdtemp(prefix="flywheel-llamaindex-"))


def run(phoenix_url: str | None, folder: str) -> None:
    options: dict[str, Any] = {"phoenix_endpoint": phoenix_url} if phoenix_url else {}
    # a short script ingests in a thread of its own; a long-running app keeps the default worker process
    with Flywheel(folder, worker_mode="thread", **options) as fw:
        llm = LocalLLM()
        engine = fw.llamaindex(build_router(llm), name="docs-router", few_shot=True, few_shot_k=2)

        with fw.session("demo-session", "demo-user"):
            response = engine.query("When are refunds issued after a return?")
        iid = response.metadata["flywheel_interaction_id"]
        print(f"answer: {response}  (interaction {iid})")
        fw.feedback(iid, "thumbs_up", actor="demo-user")  # a good answer: a future few-shot example
        fw.flush()

        stored = fw.get(iid)
        assert stored is not None
        for d in stored.decisions:
            print(f"route: {d.name} chose {d.chosen!r} out of {d.candidates} because {d.reason!r}")
        for s in stored.steps:
            if s.kind == "retrieval":
                print(f"retrieval ({s.metadata.get('tool')}):", [(n["text"], round(n["score"], 3)) for n in s.outputs])
        if phoenix_url and "span_id" in stored.metadata:
            print(f"trace page: {phoenix_url.rstrip('/')}/redirects/spans/{stored.metadata['span_id']}")

        time.sleep(0.5)  # let the reward settle
        with fw.session("another-session", "someone-else"):
            again = engine.query("How many days until refunds are issued?")
        later = fw.get(again.metadata["flywheel_interaction_id"]) if fw.flush() else None
        print(f"\nsecond answer: {again}")
        print("few-shot examples injected:", later.few_shot_ids if later else "(not stored yet)")
        print("the synthesis prompt began with:\n" + "\n".join(llm.last_prompt.splitlines()[:5]))


if __name__ == "__main__":
    main()
