"""Chat sessions built from CLINC150 (public, CC BY 3.0; see data/public/README.md) for the rephrase
detector: training its pair model, choosing its threshold, and reporting how well it does.

The split is by DOMAIN, fixed here, so no intent (and no phrasing of it) is in two parts:

* ``train``  (5 domains): the pair model's weights are fitted on sessions of these;
* ``tune``   (2 domains): the threshold (precision 0.95) and model choices are made on these;
* ``report`` (3 domains): the figures in benchmarks/README.md; never looked at while training or tuning.

A session is two user turns around one assistant answer (``q1 -> answer -> q2``), or three user turns
(``q1 -> answer -> q_mid -> answer -> q3``) for the "restates the question before last" case.
For every first question ``q1`` (a CLINC utterance of intent X):

* ``rephrase`` (positive): ``q2`` is another utterance of X (CLINC's crowd workers wrote 150
  phrasings per intent independently, so these are real restatements), after each of three
  failing answers: ``generic`` ("Sorry, I didn't get that"), ``off_topic`` (about an intent of
  another domain), ``topical_wrong`` (about another intent of X's own domain);
* ``new_question`` (negative): ``q2`` is an utterance of another intent Y, of X's domain with
  probability 0.7 (follow-ups and neighbouring asks: "bill_due" after "pay_bill") else of another
  domain of the same part, after each of the same three failing answers;
* ``repeat_after_good`` (negative): ``q2`` repeats ``q1`` after a good answer (an acknowledgement of
  a working answer is a re-visit, not a complaint; the detector's explicit rule).

Answers never contain an intent label. An answer "about intent Z" is written by the procedure
:func:`answer_about`: one of the part's answer templates (each part has its own templates, so the
model cannot learn template words that reappear at report time) around the content words of a
*different* CLINC utterance of Z, e.g. Z = ``pin_change`` and the utterance "how can i set a new pin
for my card" give "Sure, here is how it works for set new pin card." Generic answers come from a
per-part list as well. A good answer is about X itself (from a third utterance of X).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent
CLINC = HERE / "data" / "public" / "clinc150"

DOMAIN_SPLIT: dict[str, tuple[str, ...]] = {
    "train": ("banking", "home", "kitchen_and_dining", "small_talk", "work"),
    "tune": ("auto_and_commute", "meta"),
    "report": ("credit_cards", "travel", "utility"),
}
"""Fixed before any measurement (chosen so each part mixes transactional and chit-chat domains)."""

SPLIT_NOTE = ("CLINC150 split by domain: train = banking, home, kitchen_and_dining, small_talk, work; "
              "tune = auto_and_commute, meta; report = credit_cards, travel, utility")

_GENERIC = {
    "train": ["Sorry, I didn't get that.", "I'm not sure I understand. Could you try again?",
              "I can help with many things. What would you like to do?", "Hmm, I don't have an answer for that yet.",
              "Could you give me a bit more detail?", "I'm still learning and can't help with that right now."],
    "tune": ["I didn't quite catch your meaning.", "That's outside of what I can do at the moment.",
             "Can you say that another way?", "Let me know how I can help you today."],
    "report": ["Apologies, I couldn't understand your request.", "I'm afraid I can't help with that one.",
               "What can I do for you?", "I don't know how to answer that, sorry."],
}
_TEMPLATES = {
    "train": ["Sure, here is how it works for {t}.", "Here is some information about {t}.",
              "I've taken care of {t} for you.", "Okay: {t}. Anything else?", "Happy to help with {t}. Done."],
    "tune": ["No problem, {t} is all set.", "Here's what I found on {t}.", "Got it, {t}: you can do that in the app."],
    "report": ["Alright, {t} is handled.", "This is what you need to know about {t}.",
               "Certainly. For {t}, follow the steps on screen."],
}
_STOP = frozenset("""a an the and or but if so of to in on at by for with from into about as is are was were be been
being am do does did have has had i me my we us our you your he she it its they them their this that these those
there here what which who whom whose when where why how can could would should will shall may might must not no
please thanks thank just also too very really any some all each every more most than then now get got let im
i'm it's what's don't can't want need know tell like""".split())
_WORD = re.compile(r"[a-z0-9']+")


def load_intents() -> tuple[dict[str, list[str]], dict[str, str]]:
    """``{intent: utterances}`` over CLINC's train+val+test in-scope rows, and ``{intent: domain}``."""
    data = json.loads((CLINC / "data_full.json").read_text(encoding="utf-8"))
    domains = json.loads((CLINC / "domains.json").read_text(encoding="utf-8"))
    domain_of = {intent: d for d, intents in domains.items() for intent in intents}
    by_intent: dict[str, list[str]] = {}
    for part in ("train", "val", "test"):
        for text, intent in data[part]:
            by_intent.setdefault(intent, []).append(text)
    return by_intent, domain_of


def load_split_rows(split: str) -> dict[str, list[tuple[str, str]]]:
    """CLINC's own train/val/test rows ``(text, intent)`` of one part's domains (few-shot benchmark)."""
    data = json.loads((CLINC / "data_full.json").read_text(encoding="utf-8"))
    domains = json.loads((CLINC / "domains.json").read_text(encoding="utf-8"))
    keep = {i for d in DOMAIN_SPLIT[split] for i in domains[d]}
    return {part: [(t, i) for t, i in data[part] if i in keep] for part in ("train", "val", "test")}


def topic_words(utterance: str) -> str:
    words = [w for w in _WORD.findall(utterance.lower()) if w not in _STOP]
    return " ".join(words[:8]) or utterance.lower()


def answer_about(utterance: str, split: str, rng: random.Random) -> str:
    """An answer that talks about what ``utterance`` asks, without quoting it whole (see module doc)."""
    return rng.choice(_TEMPLATES[split]).format(t=topic_words(utterance))


@dataclass(frozen=True, slots=True)
class Session:
    turns: tuple[str, ...]  # user turns, oldest first
    answers: tuple[str, ...]  # the answer after each user turn but the last
    label: str  # rephrase | new_question | repeat_after_good
    answer_kind: str  # generic | off_topic | topical_wrong | good
    target: int  # the user turn the last one restates (for a rephrase), else -1
    intents: tuple[str, ...]
    domain: str

    @property
    def is_rephrase(self) -> bool:
        return self.label == "rephrase"


def sessions(split: str, per_intent: int = 12, seed: int = 0, three_turns: bool = False) -> list[Session]:
    """Sessions of one part (see the module docstring); deterministic for a seed."""
    by_intent, domain_of = load_intents()
    domains = DOMAIN_SPLIT[split]
    intents = sorted(i for i in by_intent if domain_of.get(i) in domains)
    same_domain = {d: [i for i in intents if domain_of[i] == d] for d in domains}
    rng = random.Random(f"{split}-{seed}-{three_turns}")
    out: list[Session] = []

    def other(intent: str, same: bool, avoid: tuple[str, ...] = ()) -> str:
        d = domain_of[intent]
        pool = same_domain[d] if same else [i for i in intents if domain_of[i] != d]
        return rng.choice([i for i in pool if i != intent and i not in avoid])

    def failing(kind: str, x: str, avoid: tuple[str, ...]) -> str:
        if kind == "generic":
            return rng.choice(_GENERIC[split])
        z = other(x, same=kind == "topical_wrong", avoid=avoid)
        return answer_about(rng.choice(by_intent[z]), split, rng)

    for x in intents:
        for _ in range(per_intent):
            q1, q_same, q_good = rng.sample(by_intent[x], 3)
            for kind in ("generic", "off_topic", "topical_wrong"):
                y = other(x, same=rng.random() < 0.7)
                q_new = rng.choice(by_intent[y])
                if three_turns:
                    m = other(x, same=rng.random() < 0.5, avoid=(y,))
                    q_mid = rng.choice(by_intent[m])
                    mid_answer = answer_about(rng.choice(by_intent[m]), split, rng)
                    for label, last, target, last_intent in (("rephrase", q_same, 0, x), ("new_question", q_new, -1, y)):
                        out.append(Session((q1, q_mid, last), (failing(kind, x, (last_intent, m)), mid_answer), label, kind,
                                           target, (x, m, last_intent), domain_of[x]))
                else:
                    out.append(Session((q1, q_same), (failing(kind, x, (x,)),), "rephrase", kind, 0, (x, x), domain_of[x]))
                    out.append(Session((q1, q_new), (failing(kind, x, (y,)),), "new_question", kind, -1, (x, y), domain_of[x]))
            if not three_turns:
                out.append(Session((q1, q1), (answer_about(q_good, split, rng),), "repeat_after_good", "good", -1, (x, x),
                                   domain_of[x]))
    return out


def texts(rows: list[Session]) -> Iterator[str]:
    for s in rows:
        yield from s.turns


def describe(rows: list[Session]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for s in rows:
        counts[s.label] = counts.get(s.label, 0) + 1
    return {"sessions": len(rows), **counts}


def embeddings(extra: list[str] = (), cache: Path | None = None) -> dict[str, Any]:
    """Every in-scope CLINC utterance (plus ``extra`` texts) embedded once with the packaged MiniLM,
    cached in benchmarks/results/ (ignored by git)."""
    import numpy as np

    cache = cache or HERE / "results" / "clinc_minilm.npz"
    by_intent, _ = load_intents()
    wanted = sorted({t for ts in by_intent.values() for t in ts} | set(extra))
    known: dict[str, Any] = {}
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        known = dict(zip(data["texts"].tolist(), data["vectors"]))
    missing = [t for t in wanted if t not in known]
    if missing:
        from flywheel_middleware.embedding import SentenceTransformerEmbedder

        model = SentenceTransformerEmbedder(threads=1)
        for start in range(0, len(missing), 512):
            chunk = missing[start : start + 512]
            known.update(zip(chunk, model.embed(chunk)))
        cache.parent.mkdir(parents=True, exist_ok=True)
        names = sorted(known)
        np.savez(cache, texts=np.array(names), vectors=np.stack([known[t] for t in names]).astype(np.float32))
    return known
