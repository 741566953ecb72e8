"""Build a Presidio ``AnalyzerEngine`` that never touches the network.

Presidio's default engine wants ``en_core_web_lg`` and downloads it when missing. Here no spaCy
English model may be installed, so we pick the best engine that *is* available:

1. a real spaCy NER pipeline (``en_core_web_trf``/``lg``/``md``/``sm``, or the name/path given in
   the config) when it can be imported: PERSON/LOCATION then also come from the model;
2. otherwise a ``spacy.blank("en")`` tokenizer with a lower-casing "lemmatizer", which is all
   Presidio's context enhancer needs (it matches context words such as "ssn" or "card" against
   lemmas); PERSON and STREET_ADDRESS then come only from our own recognizers.

Only the recognizers for the configured entities are registered: every extra recognizer is extra
regex work on every text. Building the engine takes seconds, so engines are cached process-wide,
keyed by what shapes them.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

logger = logging.getLogger(__name__)

#: spaCy English NER packages, best first.
SPACY_MODEL_CANDIDATES: tuple[str, ...] = ("en_core_web_trf", "en_core_web_lg", "en_core_web_md", "en_core_web_sm")

#: Entities that only a statistical NER model can find (besides our own recognizers).
NER_ENTITIES: frozenset[str] = frozenset({"PERSON", "LOCATION", "NRP", "ORGANIZATION", "DATE_TIME"})

#: Regions whose *national* formats (no "+CC") Presidio looks for. Each region is a full
#: PhoneNumberMatcher pass, the most expensive step of the analysis (11 regions ran at 1/3 the
#: speed of these 4). Numbers written with "+CC" are found whatever the list (by phonenumbers, and
#: by our own loose "+" pattern), and US/Canada shapes also by our NANP pattern.
PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "IN")

_LOWER_LEMMA = "flywheel_lower_lemma"
_WARMUP_TEXT = ("Mail ann@example.com or call 212-555-0187; card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 "
                "0130 00, SSN 536-22-8729, host 10.0.0.1, https://example.com. My name is Ann Lee.")

_cache: dict[tuple[Any, ...], "EngineBundle"] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class EngineBundle:
    """An analyzer plus what was decided while building it (for logs, tests and the benchmark)."""

    analyzer: Any  # presidio_analyzer.AnalyzerEngine
    nlp_kind: str  # "spacy-ner:<model>" or "spacy-blank"
    has_ner: bool
    entities: tuple[str, ...]


def detect_spacy_model() -> str | None:
    """The best installed spaCy English NER package, or None (no download is ever attempted)."""
    for name in SPACY_MODEL_CANDIDATES:
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except (ImportError, ValueError):
            continue
    return None


def _register_lower_lemma() -> None:
    from spacy.language import Language

    if not Language.has_factory(_LOWER_LEMMA):

        @Language.component(_LOWER_LEMMA)
        def _lower_lemma(doc):  # type: ignore[no-untyped-def]
            for token in doc:
                token.lemma_ = token.lower_
            return doc


def _blank_nlp() -> Any:
    """A tokenizer-only English pipeline: no weights, no download, ~10x cheaper than a model."""
    import spacy

    _register_lower_lemma()
    nlp = spacy.blank("en")
    nlp.add_pipe(_LOWER_LEMMA)
    return nlp


def _make_nlp_engine(model: str | None) -> tuple[Any, str, bool]:
    from presidio_analyzer.nlp_engine import NerModelConfiguration

    if model:
        import spacy

        try:
            nlp = spacy.load(model)
        except Exception as exc:  # noqa: BLE001 - any failure means "fall back", logged
            logger.warning("spaCy model %r could not be loaded (%s); using the offline engine", model, exc)
        else:
            has_ner = "ner" in nlp.pipe_names
            if "lemmatizer" not in nlp.pipe_names:
                _register_lower_lemma()
                nlp.add_pipe(_LOWER_LEMMA)
            return _preloaded_engine_class()(nlp, NerModelConfiguration()), f"spacy-ner:{model}", has_ner
    return _preloaded_engine_class()(_blank_nlp(), NerModelConfiguration()), "spacy-blank", False


_engine_cls: type | None = None


def _preloaded_engine_class() -> type:
    """A ``SpacyNlpEngine`` around an already-built pipeline, so Presidio never calls spacy.load
    (and therefore never tries ``spacy.cli.download``)."""
    global _engine_cls
    if _engine_cls is None:
        from presidio_analyzer.nlp_engine import SpacyNlpEngine

        class PreloadedSpacyNlpEngine(SpacyNlpEngine):
            def __init__(self, nlp: Any, ner_config: Any) -> None:
                super().__init__(models=[{"lang_code": "en", "model_name": "preloaded"}],
                                 ner_model_configuration=ner_config)
                self._preloaded = nlp

            def load(self) -> None:
                self.nlp = {"en": self._preloaded}

        _engine_cls = PreloadedSpacyNlpEngine
    return _engine_cls


def _predefined_recognizers(entities: frozenset[str]) -> list[Any]:
    from presidio_analyzer import predefined_recognizers as pr

    recognizers: list[Any] = []
    if "EMAIL_ADDRESS" in entities:
        recognizers.append(pr.EmailRecognizer())
    if "PHONE_NUMBER" in entities:
        recognizers.append(pr.PhoneRecognizer(supported_regions=PHONE_REGIONS))
    if "CREDIT_CARD" in entities:
        recognizers.append(pr.CreditCardRecognizer())
    if "IBAN_CODE" in entities:
        recognizers.append(pr.IbanRecognizer())
    if "US_SSN" in entities:
        recognizers.append(pr.UsSsnRecognizer())
    if "IP_ADDRESS" in entities:
        recognizers.append(pr.IpRecognizer())
    if "URL" in entities:
        recognizers.append(pr.UrlRecognizer())
    return recognizers


def build_engine(entities: tuple[str, ...], spacy_model: str | None, use_custom: bool = True) -> EngineBundle:
    """Build (uncached) an analyzer for ``entities``; ``spacy_model`` "auto" means detect."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    from .recognizers import project_recognizers

    wanted = frozenset(entities)
    model = detect_spacy_model() if spacy_model == "auto" else spacy_model
    if spacy_model == "auto" and not (wanted & NER_ENTITIES):
        model = None  # nothing for a model to add: keep the cheap tokenizer
    nlp_engine, kind, has_ner = _make_nlp_engine(model)
    recognizers = _predefined_recognizers(wanted)
    if has_ner and wanted & NER_ENTITIES:
        recognizers.append(SpacyRecognizer(supported_entities=sorted(wanted & NER_ENTITIES)))
    if use_custom:
        recognizers.extend(project_recognizers(wanted))
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])
    # warm every lazy part now (tldextract builds its suffix trie on the first email: ~0.4 s;
    # pattern recognizers compile their regexes on first use), not on the worker's first batch
    analyzer.analyze(_WARMUP_TEXT, language="en", entities=sorted(wanted & set(analyzer.get_supported_entities("en"))) or None)
    logger.info("PII engine built: %s, %d recognizers", kind, len(recognizers))
    return EngineBundle(analyzer=analyzer, nlp_kind=kind, has_ner=has_ner, entities=tuple(sorted(wanted)))


def get_engine(entities: tuple[str, ...], spacy_model: str | None, use_custom: bool = True) -> EngineBundle:
    """The process-wide cached engine for this configuration (built once, shared by all Redactors)."""
    key = (tuple(sorted(set(entities))), spacy_model, use_custom)
    bundle = _cache.get(key)
    if bundle is not None:
        return bundle
    with _cache_lock:
        bundle = _cache.get(key)
        if bundle is None:
            bundle = build_engine(key[0], spacy_model, use_custom)
            _cache[key] = bundle
    return bundle
