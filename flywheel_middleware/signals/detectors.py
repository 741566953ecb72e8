"""Implicit feedback detectors: small, pure rules over a session's user turns.

Each detector is a plain class configured by a dataclass of thresholds. None of them runs a
neural model, touches a store or imports a framework: the caller passes the embeddings it already
has (normalised 384-d MiniLM vectors); the rephrase detector's learned part is a logistic model
read from a small JSON file shipped in the package, so every rule runs in microseconds.

Evidence holds scores, flags and the *names* of the cues and patterns that matched, never the
user's text: signals end up in Phoenix annotations and exports.

Precision comes before recall everywhere: a signal that fires wrongly turns a good answer into
a negative training example, which is worse than missing a signal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .pair_model import _WORD, PAIR_FEATURES, PairModel, ReferenceSample, load_pair_model, pair_features
from .pair_model import content_tokens as _content_tokens

__all__ = [
    "REPHRASE_FEATURES",
    "RephraseConfig",
    "RephraseResult",
    "RephraseDetector",
    "EarlierTurn",
    "CorrectionConfig",
    "CorrectionResult",
    "CorrectionDetector",
    "EscalationConfig",
    "EscalationResult",
    "EscalationDetector",
    "AbandonmentConfig",
    "AbandonmentResult",
    "AbandonmentRule",
    "FAILURE_SIGNALS",
    "SUCCESS_SIGNALS",
]

# --------------------------------------------------------------------------- text helpers

# Words that start a follow-up: the user builds on the answer instead of restating the question.
_FOLLOW_UP_START = re.compile(
    r"^(?:and|also|plus|besides|additionally|then|what about|how about|what if|and what|and how|"
    r"and is|and can|and does|and do|and will|one more|another question|follow[- ]up|in that case|"
    r"if so|same for|what else)\b"
)

# Words that say "I am asking the same thing again".
_REPHRASE_CUES = re.compile(
    r"\b(?:i mean|i meant|in other words|let me rephrase|rephrase|let me put it|put it differently|"
    r"put another way|i asked|i'm asking|i am asking|what i'm asking|what i am asking|what i want to know|"
    r"my question is|my question was|to be clear|to clarify|again:|i said|you didn't answer|"
    r"that's not what i asked|not what i asked)\b"
)

# Openers that acknowledge the answer: the previous turn worked.
_ACK_START = re.compile(
    r"^(?:thanks|thank you|thx|great|perfect|awesome|cool|got it|ok(?:ay)?(?: that makes sense| thanks| great| cool)?|"
    r"that's right|that is right|correct|exactly|that helps|that makes sense|makes sense|nice|"
    r"not wrong at all|nothing wrong with that|no problem|no worries|no that's fine|understood)\b"
)


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower().replace("\u2019", "'")))


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _cosine(a: Any, b: Any) -> float:
    va = np.asarray(a, dtype=np.float32).ravel()
    vb = np.asarray(b, dtype=np.float32).ravel()
    dot = float(va @ vb)
    # the contract is normalised vectors; renormalise cheaply if a caller forgot
    na = float(va @ va)
    nb = float(vb @ vb)
    if abs(na - 1.0) > 1e-3 or abs(nb - 1.0) > 1e-3:
        denom = math.sqrt(na * nb)
        return dot / denom if denom > 0 else 0.0
    return dot


def _strip_ack(norm: str) -> tuple[str, bool]:
    """Remove an acknowledging opener ('thanks, ...'); say whether there was one."""
    m = _ACK_START.match(norm)
    if not m:
        return norm, False
    return norm[m.end():].strip(), True


# --------------------------------------------------------------------------- rephrase


REPHRASE_FEATURES: tuple[str, ...] = PAIR_FEATURES
"""The pair model's scalar features (after its ``u*v`` and ``|u-v|`` embedding features)."""

def _unit_vector(x: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(x))
    return x / n if n > 0 else x


def _cue_id(matched: str) -> str:
    """A matched cue phrase as a stable identifier (the phrases are this module's, not the user's)."""
    return re.sub(r"[^a-z0-9]+", "_", matched.lower()).strip("_")


@dataclass(slots=True)
class RephraseConfig:
    """Settings of :class:`RephraseDetector`.

    ``threshold``: the pair model's probability at which a pair is a rephrase; ``None`` takes the
    one shipped with the model (chosen for precision 0.95 on CLINC150 domains never used to train
    it; see benchmarks/README.md). ``lookback``: how many earlier user turns of the session a new
    message is compared with (the user may restate the question before last).
    """

    window_s: float = 900.0  # a restatement comes soon after the failed answer
    verbatim_overlap: float = 0.9  # token overlap above which the next message is a repeat ...
    verbatim_similarity: float = 0.95  # ... when the meaning is this close too
    retry_window_s: float = 120.0  # a repeat this soon, without a good mark, is a retry (failure)
    threshold: float | None = None
    cue_threshold: float = 0.2  # with an explicit "let me rephrase"-like cue, this probability suffices
    lookback: int = 2


@dataclass(slots=True)
class RephraseResult:
    is_rephrase: bool
    confidence: float
    evidence: dict[str, Any] = field(default_factory=dict)
    turns_back: int = 1  # which earlier user turn the message restates (1 = the previous one)


@dataclass(frozen=True, slots=True)
class EarlierTurn:
    """What the detector needs of an earlier user turn of the session."""

    text: str
    embedding: Any
    answer: str | None = None
    answer_good: bool | None = None
    ended_at: float | None = None
    id: str | None = None


class RephraseDetector:
    """Does the next user message restate an earlier one (so that answer failed)?

    Rules, in order, for one pair (an earlier message, the new one):

    1. gap > ``window_s``: not a rephrase (a later return is a new visit).
    2. near-verbatim repeat (token overlap >= ``verbatim_overlap`` and similarity >=
       ``verbatim_similarity``, or the same words): a rephrase (a retry) only when it comes within
       ``retry_window_s`` and the earlier answer was not marked good; asking the same thing again
       after a good answer or a long pause is a re-visit, not a complaint.
    3. the message opens by acknowledging the answer ("thanks", "got it") or opens a follow-up
       ("and what about ...", "also ...") and has no rephrase cue: not a rephrase.
    4. otherwise the learned pair model (:mod:`.pair_model`: MiniLM features of both messages,
       word overlap, and how much of each question the answer in between used) gives a
       probability, which must reach ``threshold`` (``cue_threshold`` when the message says "let
       me rephrase", "in other words", "what I'm asking is" ...).

    ``confidence`` is that probability (or its complement when the verdict is "no"). Evidence
    holds scores and cue names only, never the messages' text.
    """

    def __init__(self, config: RephraseConfig | None = None, model: PairModel | None = None) -> None:
        self.config = config or RephraseConfig()
        self.model = model or load_pair_model()

    def detect(
        self,
        prev_text: str,
        next_text: str,
        prev_embedding: Any,
        next_embedding: Any,
        gap_s: float | None,
        prev_answer: str | None = None,
        prev_answer_good: bool | None = None,
        *,
        reference: ReferenceSample | None = None,
        exclude_ids: Sequence[str] = (),
    ) -> RephraseResult:
        """Judge one pair: an earlier user message, and the new one.

        ``prev_embedding``/``next_embedding``: the caller's normalised sentence embeddings of the two
        messages (the packaged MiniLM's). ``prev_answer_good``: True when that answer got a success
        signal. ``reference``: a sample of the app's past turns (the worker keeps one); with at least
        ``model.min_reference`` of them the pair is judged against that traffic. ``exclude_ids``:
        the two turns' own ids, so they are not their own reference.
        """
        cfg = self.config
        similarity = _cosine(prev_embedding, next_embedding)
        prev_tokens = _content_tokens(prev_text)
        next_tokens = _content_tokens(next_text)
        overlap = _jaccard(prev_tokens, next_tokens)
        norm_next = _norm(next_text)
        body, acknowledged = _strip_ack(norm_next)
        rephrase_cues = [_cue_id(m.group(0)) for m in _REPHRASE_CUES.finditer(norm_next)]
        follow_cues = [_cue_id(m.group(0)) for m in _FOLLOW_UP_START.finditer(body)]
        evidence: dict[str, Any] = {
            "similarity": round(similarity, 4),
            "overlap": round(overlap, 4),
            "gap_s": None if gap_s is None else round(float(gap_s), 3),
            "rephrase_cues": rephrase_cues,
            "follow_up_cues": follow_cues,
            "acknowledged": acknowledged,
        }

        def verdict(is_rephrase: bool, confidence: float, reason: str) -> RephraseResult:
            evidence["reason"] = reason
            return RephraseResult(is_rephrase, round(min(max(confidence, 0.0), 1.0), 4), evidence)

        if gap_s is not None and gap_s > cfg.window_s:
            return verdict(False, 0.9, "gap_beyond_window")
        same_words = bool(norm_next) and norm_next == _norm(prev_text)
        if same_words or (overlap >= cfg.verbatim_overlap and similarity >= cfg.verbatim_similarity
                          and not follow_cues):
            if prev_answer_good:
                return verdict(False, 0.9, "repeat_after_good_answer")
            if gap_s is not None and gap_s > cfg.retry_window_s:
                return verdict(False, 0.7, "repeat_after_long_gap")
            return verdict(True, 0.8, "immediate_retry")
        if acknowledged and not rephrase_cues:
            return verdict(False, 0.85, "acknowledged_answer")
        if follow_cues and not rephrase_cues:
            return verdict(False, 0.8, "follow_up_cue")
        u = np.asarray(prev_embedding, dtype=np.float32).ravel()
        v = np.asarray(next_embedding, dtype=np.float32).ravel()
        pair = pair_features(prev_text, next_text, u, v)
        ref = None
        if reference is not None and len(reference) >= self.model.min_reference:
            ref = reference.features(_unit_vector(u), _unit_vector(v), float(pair[0]), exclude_ids)
        probability, threshold, used = self.model.score(pair, ref)
        if self.config.threshold is not None:
            threshold = float(self.config.threshold)
        evidence["probability"] = round(probability, 4)
        evidence["threshold"] = round(threshold, 4)
        evidence["reference"] = len(reference) if used and reference is not None else 0
        if ref is not None:
            evidence["rank_next"] = round(math.exp(float(ref[1])), 5)
        if probability >= threshold:
            return verdict(True, probability, "similar_meaning")
        if rephrase_cues and probability >= cfg.cue_threshold:
            return verdict(True, max(probability, 0.6), "rephrase_cue")
        return verdict(False, 1.0 - probability, "below_threshold")

    def detect_in_session(self, earlier: Sequence[EarlierTurn], next_text: str, next_embedding: Any,
                          started_at: float | None, *, reference: ReferenceSample | None = None,
                          next_id: str | None = None) -> RephraseResult | None:
        """Judge the new message against the session's last ``lookback`` user turns (newest first).

        The newest earlier turn it restates wins (``turns_back`` says which): restating the question
        before last, after an unrelated one in between, means *that* answer failed. Returns the
        verdict for the newest turn when none matches, ``None`` when there is nothing to compare.
        """
        first: RephraseResult | None = None
        for back, turn in enumerate(list(earlier)[: max(1, self.config.lookback)], start=1):
            if turn.embedding is None or not turn.text.strip():
                continue
            gap = None if started_at is None or turn.ended_at is None else max(0.0, started_at - turn.ended_at)
            result = self.detect(turn.text, next_text, turn.embedding, next_embedding, gap,
                                 prev_answer=turn.answer, prev_answer_good=turn.answer_good, reference=reference,
                                 exclude_ids=[i for i in (turn.id, next_id) if i])
            result.turns_back = back
            result.evidence["turns_back"] = back
            if result.is_rephrase:
                return result
            if first is None:
                first = result
            if result.evidence["reason"] in ("gap_beyond_window", "acknowledged_answer"):
                break  # older turns are further away still / the user moved on
        return first


# --------------------------------------------------------------------------- correction

# Phrases that say the answer was wrong. Each is matched on the normalised text (lowercase,
# punctuation dropped), so "That's not right!" and "thats not right" read alike.
_CORRECTION_PATTERNS: tuple[tuple[str, str], ...] = (
    ("not_right", r"\b(?:that|this|it|thats|that's|this is|that is|it is|its|it's|you're|you are)\s*(?:is\s+)?(?:not|n't|isn't)\s+(?:quite\s+)?(?:right|correct|true|accurate|it)\b"),
    ("isnt_right", r"\b(?:that|this|it)\s+(?:isn't|is not|wasn't|was not)\s+(?:quite\s+)?(?:right|correct|true|accurate|what i)\b"),
    ("wrong_subject", r"\b(?:that's|that is|thats|this is|it's|it is|you're|you are|that was|answer is|you got it|you have it|you've got it|that's all|thats all|all)\s+(?:completely\s+|totally\s+|just\s+|all\s+)?wrong\b"),
    ("wrong_start", r"^(?:no[, ]*)?(?:wrong|incorrect|inaccurate|not correct|not right|false|nope)\b"),
    ("incorrect", r"\b(?:that's|that is|thats|this is|it's|it is|that was|answer is|you're|you are)\s+(?:completely\s+|totally\s+)?(?:incorrect|inaccurate|mistaken|false|untrue)\b"),
    ("wrong_answer", r"\b(?:wrong|incorrect|bad)\s+(?:answer|information|info|response|reply)\b"),
    ("not_what_asked", r"\bnot\s+what\s+i\s+(?:asked|meant|wanted|said|need(?:ed)?)\b"),
    ("misunderstood", r"\byou\s+(?:misunderstood|misunderstand|misread|got\s+(?:it|me|that)\s+wrong|have\s+it\s+wrong|are\s+confused|confused)\b"),
    ("no_i_meant", r"^(?:no|nope|nah|not quite|actually)\b[\w\s']{0,12}?\bi\s+(?:meant|mean|asked|said|was asking|am asking|m asking)\b"),
    ("doesnt_answer", r"\b(?:doesn't|does not|didn't|did not|don't|do not)\s+(?:answer|address)\s+(?:my|the)\s+question\b"),
    ("you_didnt_answer", r"\byou\s+(?:didn't|did not|haven't|have not)\s+answer"),
    ("not_it", r"^(?:no|nope)[, ]+(?:that's|that is|thats)\s+not\s+(?:it|the)\b"),
    ("cant_be_right", r"\b(?:can't|cannot|can not|couldn't)\s+be\s+(?:right|correct|true)\b"),
    ("thats_for_other", r"^(?:no no|no, no|hmm,? that's the|no,? that's (?:for|the))\b"),
    ("estimate_off", r"\b(?:your|the|that)\s+(?:answer|estimate|number|figure|info|information)\s+(?:is|was)\s+(?:off|wrong|incorrect)\b"),
)

# Negations and polite phrases that contain the same words but approve the answer.
_CORRECTION_NEGATIONS: tuple[str, ...] = (
    r"\bnot\s+(?:wrong|incorrect|bad)\s+at\s+all\b",
    r"\bnothing\s+(?:is\s+)?(?:wrong|incorrect)\b",
    r"\b(?:isn't|is not|wasn't|was not|not)\s+(?:wrong|incorrect)\b",
    r"\bno\s+(?:problem|worries|issue)\b",
    r"\b(?:anything|something)\s+wrong\s+with\b",
)

_WORD_NEGATION_SCOPE = re.compile(r"\b(?:wrong|incorrect)\b")


@dataclass(slots=True)
class CorrectionConfig:
    """Settings of :class:`CorrectionDetector`.

    ``max_words_before_match``: corrections are short retorts or a retort plus a restated need; a
    long message that merely mentions "wrong" somewhere is rarely about the answer, so the rule
    ignores matches that start after this many words.
    """

    max_words_before_match: int = 6
    extra_patterns: tuple[str, ...] = ()  # more regexes (on normalised text) that mean "wrong answer"
    extra_negations: tuple[str, ...] = ()


@dataclass(slots=True)
class CorrectionResult:
    is_correction: bool
    confidence: float
    evidence: dict[str, Any] = field(default_factory=dict)


class CorrectionDetector:
    """Does the user say the previous answer was wrong ("that's not right", "no, I meant ...")?

    Rule: a correction phrase must *judge the answer* (a subject like "that's"/"you" + wrong,
    or the message opens with "wrong"/"no, I meant"), must start within the first
    ``max_words_before_match`` words, and must not sit inside a negation ("not wrong at all",
    "nothing wrong with that") or an acknowledgement ("that's right"). Mentions of a wrong *thing*
    ("I entered the wrong PIN") are not corrections.
    """

    def __init__(self, config: CorrectionConfig | None = None) -> None:
        self.config = config or CorrectionConfig()
        self._patterns = [(name, re.compile(p)) for name, p in _CORRECTION_PATTERNS]
        self._patterns += [(f"extra_{i}", re.compile(p)) for i, p in enumerate(self.config.extra_patterns)]
        self._negations = [re.compile(p) for p in (*_CORRECTION_NEGATIONS, *self.config.extra_negations)]

    def detect(self, next_text: str, prev_answer: str | None = None) -> CorrectionResult:
        """Judge the user's next message. ``prev_answer`` is accepted for a uniform call shape; the
        current rule reads only the message (the phrase itself says which answer it judges)."""
        text = " ".join(next_text.lower().replace("\u2019", "'").split())
        norm = re.sub(r"[^\w\s']", " ", text)
        norm = " ".join(norm.split())
        negated = [m.group(0) for n in self._negations for m in n.finditer(norm)]
        neg_spans = [m.span() for n in self._negations for m in n.finditer(norm)]
        for name, pattern in self._patterns:
            for m in pattern.finditer(norm):
                start_word = len(norm[: m.start()].split())
                if start_word > self.config.max_words_before_match:
                    continue
                if any(s <= m.start() < e or m.start() <= s < m.end() for s, e in neg_spans):
                    continue
                confidence = 0.9 if start_word <= 2 else 0.75
                return CorrectionResult(True, confidence, {"pattern": name, "start_word": start_word,
                                                           "negated": bool(negated)})
        return CorrectionResult(False, 0.8 if negated else 0.7, {"pattern": None, "negated": bool(negated)})


# --------------------------------------------------------------------------- escalation

_ESCALATION_PATTERNS: tuple[tuple[str, str], ...] = (
    ("talk_to_human", r"\b(?:talk|speak|chat|connect|put|transfer|switch|escalate|pass)\s+(?:me\s+)?(?:to|with|through to)\s+(?:a|an|the|some|your|real|actual|live|\s)*(?:human|person|people|agent|representative|rep|operator|manager|supervisor|someone|somebody|staff|employee|advisor|adviser)\b"),
    ("get_me_human", r"\b(?:get|give|find|bring|need|want|request|send)\s+(?:me\s+)?(?:a|an|the|some|your|real|actual|live|\s)*(?:human|person|agent|representative|rep|operator|manager|supervisor|someone real|somebody real)\b"),
    ("human_please", r"^(?:a\s+)?(?:real\s+|live\s+|actual\s+)?(?:human|person|agent|representative|operator|manager|supervisor)(?:\s+please|\s+now|\s+agent)*\s*$"),
    ("human_please_2", r"\b(?:human|real person|live agent|representative|operator)\s*,?\s*please\b"),
    ("is_there_human", r"\b(?:is there|are there|can i (?:reach|call|get)|how do i reach|how can i reach)\s+(?:a|an|any)?\s*(?:human|real person|live agent|person|representative|agent)\b"),
    ("escalate", r"\bescalate\s+(?:this|it|my|the)\b"),
    ("not_a_bot", r"\b(?:stop|no more|done with|tired of)\s+(?:this|the|talking to (?:a|the|this))?\s*(?:bot|machine|robot|ai)\b"),
)

_ESCALATION_NEGATIONS: tuple[str, ...] = (
    r"\b(?:don't|do not|dont|didn't|no|never|without)\s+(?:need|want|wish|have|ask(?:ing)?|require)?\s*(?:to\s+)?(?:to\s+)?(?:talk|speak|chat)?\s*(?:to|with)?\s*(?:a|an|the|any)?\s*(?:human|person|agent|manager|representative|operator|supervisor)\b",
    r"\bno\s+need\s+(?:for|to)\b",
    r"\b(?:do|does|did|will|would|should|must)\s+(?:i|we|you)\s+(?:need|want|get)\b",  # a question about agents
    r"\b(?:instead of|rather than|before)\s+(?:talking|speaking|calling|asking)\b",
)

_DEFAULT_HANDOFF_PATTERNS: tuple[str, ...] = (
    r"escalat",
    r"hand_?off",
    r"transfer_to_(?:human|agent|person|operator|support)",
    r"human_?agent",
    r"live_?agent",
    r"(?:call|contact|ask|notify|page)_(?:a_)?(?:human|operator|supervisor|manager)",
    r"to_human",
    r"create_support_ticket",
)


@dataclass(slots=True)
class EscalationConfig:
    """Settings of :class:`EscalationDetector`: tool-name patterns (regexes, matched
    case-insensitively on the name with '-', ' ' and '.' read as '_') and extra phrases."""

    handoff_tool_patterns: tuple[str, ...] = _DEFAULT_HANDOFF_PATTERNS
    extra_patterns: tuple[str, ...] = ()
    extra_negations: tuple[str, ...] = ()


@dataclass(slots=True)
class EscalationResult:
    is_escalation: bool
    confidence: float
    evidence: dict[str, Any] = field(default_factory=dict)


class EscalationDetector:
    """Does the user ask for a human, or did the agent call a hand-off tool?

    Rule: a request phrase (talk/speak to + a person word, "get me an agent", "human please")
    counts unless a negation covers it ("I don't need a human", "no need to talk to anyone").
    A tool name counts when it matches one of ``handoff_tool_patterns``.
    """

    def __init__(self, config: EscalationConfig | None = None) -> None:
        self.config = config or EscalationConfig()
        self._patterns = [(name, re.compile(p)) for name, p in _ESCALATION_PATTERNS]
        self._patterns += [(f"extra_{i}", re.compile(p)) for i, p in enumerate(self.config.extra_patterns)]
        self._negations = [re.compile(p) for p in (*_ESCALATION_NEGATIONS, *self.config.extra_negations)]
        self._tools = [re.compile(p, re.IGNORECASE) for p in self.config.handoff_tool_patterns]

    def detect(self, text: str) -> EscalationResult:
        norm = " ".join(re.sub(r"[^\w\s']", " ", text.lower().replace("\u2019", "'")).split())
        neg_spans = [m.span() for n in self._negations for m in n.finditer(norm)]
        for name, pattern in self._patterns:
            for m in pattern.finditer(norm):
                if any(s <= m.start() < e or m.start() <= s < m.end() for s, e in neg_spans):
                    continue
                return EscalationResult(True, 0.9, {"pattern": name})
        return EscalationResult(False, 0.8, {"pattern": None, "negated": bool(neg_spans)})

    def is_handoff_tool(self, tool_name: str | None) -> bool:
        """Whether a tool the agent called hands the conversation to a person."""
        if not tool_name:
            return False
        name = re.sub(r"[\s.\-]+", "_", tool_name.strip().lower())
        return any(p.search(name) for p in self._tools)


# --------------------------------------------------------------------------- abandonment

FAILURE_SIGNALS: frozenset[str] = frozenset(
    {"rephrase", "correction", "correction_phrase", "thumbs_down", "abort", "stop", "escalate", "escalation",
     "error", "regenerate"}
)
SUCCESS_SIGNALS: frozenset[str] = frozenset({"thumbs_up", "copy", "accept", "accepted", "resolved"})


@dataclass(slots=True)
class AbandonmentConfig:
    """Settings of :class:`AbandonmentRule`.

    ``good_rating``: a rating signal (kind ``rating``) at or above it counts as success, at or below
    ``bad_rating`` as failure. Signals may be given as kind strings or ``(kind, value)`` pairs or
    objects with ``kind``/``value`` attributes (e.g. ``flywheel_middleware.records.Signal``).
    """

    timeout_s: float = 1800.0
    failure_kinds: frozenset[str] = FAILURE_SIGNALS
    success_kinds: frozenset[str] = SUCCESS_SIGNALS
    good_rating: float = 4.0
    bad_rating: float = 2.0


@dataclass(slots=True)
class AbandonmentResult:
    is_abandoned: bool
    evidence: dict[str, Any] = field(default_factory=dict)


class AbandonmentRule:
    """Was the session given up on?

    Rule: abandoned when (1) the session has been idle for more than ``timeout_s`` since its last
    activity, (2) its last interaction carries at least one failure signal (rephrase, correction,
    thumbs_down, abort, escalate, ...), and (3) that interaction carries no success signal
    (thumbs_up, copy, rating >= ``good_rating``). A quiet session after a good or unjudged answer
    is just a finished session: most users leave once they have what they came for.
    """

    def __init__(self, config: AbandonmentConfig | None = None) -> None:
        self.config = config or AbandonmentConfig()

    def evaluate(
        self,
        last_activity_at: float,
        now: float,
        last_signals: Iterable[Any],
        timeout_s: float | None = None,
    ) -> AbandonmentResult:
        cfg = self.config
        timeout = cfg.timeout_s if timeout_s is None else timeout_s
        idle = now - last_activity_at
        failures: list[str] = []
        successes: list[str] = []
        for kind, value in (_kind_value(s) for s in last_signals):
            if kind == "rating" and isinstance(value, (int, float)) and not isinstance(value, bool):
                if value >= cfg.good_rating:
                    successes.append(f"rating={value:g}")
                elif value <= cfg.bad_rating:
                    failures.append(f"rating={value:g}")
            elif kind in cfg.success_kinds:
                successes.append(kind)
            elif kind in cfg.failure_kinds:
                failures.append(kind)
        abandoned = idle > timeout and bool(failures) and not successes
        return AbandonmentResult(abandoned, {"idle_s": round(idle, 3), "timeout_s": timeout,
                                             "failures": failures, "successes": successes})

    def is_abandoned(self, last_activity_at: float, now: float, last_signals: Iterable[Any],
                     timeout_s: float | None = None) -> bool:
        return self.evaluate(last_activity_at, now, last_signals, timeout_s).is_abandoned


def _kind_value(signal: Any) -> tuple[str, Any]:
    if isinstance(signal, str):
        return signal.lower(), None
    if isinstance(signal, (tuple, list)) and signal:
        return str(signal[0]).lower(), signal[1] if len(signal) > 1 else None
    if isinstance(signal, dict):
        return str(signal.get("kind", "")).lower(), signal.get("value")
    return str(getattr(signal, "kind", "")).lower(), getattr(signal, "value", None)
