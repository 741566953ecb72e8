"""The name gazetteer and the ordinary-word lexicon the person-name rules lean on.

Names: ``data/person_names.txt.gz``, built by ``benchmarks/data/make_name_lists.py`` from the PyPI
package ``names-dataset`` 3.3.1 (MIT): first and last names whose best popularity rank in any of
its 105 countries is within 5,000. It shares nothing with the data the redactor is scored on
(presidio-research's synthetic set takes its names from Faker's lists and its own CSVs).

Ordinary words: spaCy's English stop words, the WordNet lemma index that ships in the pinned
spaCy models (``lemmatizer/lookups/lookups.bin``, ~78k words; read even when the offline engine
is used, if the package is installed) and a short list of support-traffic words.

Loaded once per process, on first use (~0.5 s, ~40 MB).
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Gazetteer", "gazetteer", "load_lexicon"]

_DATA = Path(__file__).resolve().parents[1] / "data" / "person_names.txt.gz"

#: Capitalised words that are rarely a name in support traffic although some database lists them.
SUPPORT_WORDS: frozenset[str] = frozenset("""
hi hello hey dear thanks thank regards best cheers sincerely yours kind warm team support sales
billing admin customer service help desk manager account user client everyone sir madam ok okay
monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday tonight
january february march april may june july august september october november december
mr mrs ms miss mx dr prof mister doctor professor please sorry yes no api app web email e-mail phone
order invoice refund ticket error bug issue update pro basic premium plus enterprise trial plan
microsoft google apple amazon slack zoom jira notion excel outlook github figma trello asana
windows linux mac chrome firefox safari android iphone ios wifi wi-fi bluetooth usb pdf faq
login logout signup sign-in checkout dashboard inbox settings profile cart wishlist
st rd ave blvd ln dr ct pl sq hwy apt ste fl
""".split())


#: Words that make the capitalised words before them a place or an organisation ("Victoria
#: Station", "Chase Bank", "Main Street Logistics"), never a person.
DESIGNATORS: frozenset[str] = frozenset("""
bank banks station airport hotel hostel university college school academy hospital clinic church cathedral
museum library gallery theatre theater stadium arena park gardens zoo tower towers bridge square mall market
plaza center centre institute foundation trust society association associates partners group holdings capital
ventures labs lab studio studios solutions systems services technologies technology software logistics
consulting media records press publishing pharma motors airlines airways railway railways express inc ltd llc
plc gmbh ag sa srl bv corp corporation co company companies industries enterprises international
street st road rd avenue ave lane ln drive dr boulevard blvd court ct place pl way square sq highway hwy
close crescent terrace hill hills valley river lake mountain island beach bay county city town village
""".split())


def load_lexicon(model_folder: str | Path | None) -> frozenset[str]:
    """English words from a spaCy model's lemmatizer tables (WordNet lemma index), or an empty set."""
    words, _ = _lemma_index(model_folder)
    return words


def _lemma_index(model_folder: str | Path | None) -> tuple[frozenset[str], frozenset[str]]:
    """(every WordNet lemma, the lemmas that are also a verb, adjective or adverb). A name that
    WordNet lists only as a noun ("catherine", "victoria") is a proper name there far more often
    than one that is also a verb or adjective ("hope", "bill", "brown")."""
    if model_folder is None:
        return frozenset(), frozenset()
    path = Path(model_folder) / "lemmatizer" / "lookups" / "lookups.bin"
    if not path.is_file():
        return frozenset(), frozenset()
    import srsly
    from spacy.strings import hash_string

    tables = srsly.read_msgpack(path)
    words: set[str] = set()
    not_noun: set[str] = set()
    noun = hash_string("noun")
    for pos, values in (tables.get("lemma_index") or {}).items():
        if isinstance(values, list):
            found = {w for w in values if isinstance(w, str) and w.isalpha()}
            words.update(found)
            if pos not in (noun, "noun"):
                not_noun.update(found)
    return frozenset(words), frozenset(not_noun)


@dataclass(frozen=True)
class Gazetteer:
    """Lower-cased name sets and the ordinary-word lexicon (see the module docstring)."""

    names: frozenset[str]  # any first or last name within the file's rank limit
    first: frozenset[str]  # "known" first names: within rank 1,000 somewhere
    last: frozenset[str]  # "known" last names: within rank 2,000 somewhere
    lexicon: frozenset[str]  # ordinary English words (stop words, WordNet lemmas, support words)
    not_noun: frozenset[str] = frozenset()  # WordNet lemmas that are also a verb, adjective or adverb

    def is_proper_like(self, word: str) -> bool:
        """Not an ordinary word, or one WordNet knows only as a noun (where names live)."""
        low = _bare(word)
        return not self.is_plain(word) or (low not in self.not_noun and low not in _STOP_AND_SUPPORT)

    def is_plain(self, word: str) -> bool:
        """Whether ``word`` is an ordinary English word, or a plural/inflected form of one."""
        low = _bare(word)
        if low in self.lexicon:
            return True
        for suffix in ("s", "es", "ed", "ing", "ly", "er", "ers"):
            if low.endswith(suffix) and low[: -len(suffix)] in self.lexicon:
                return True
        return False

    def is_name(self, word: str) -> bool:
        return _bare(word) in self.names

    def is_support(self, word: str) -> bool:
        """A greeting, title, weekday, product or UI word ("Dear", "Mr", "Settings")."""
        return _bare(word) in SUPPORT_WORDS

    def is_designator(self, word: str) -> bool:
        """A place or organisation word ("Bank", "Station", "Street", "Inc")."""
        return _bare(word).rstrip(".") in DESIGNATORS

    def is_known(self, word: str) -> bool:
        low = _bare(word)
        return low in self.first or low in self.last


_STOP_AND_SUPPORT: frozenset[str] = SUPPORT_WORDS


def _bare(word: str) -> str:
    low = word.lower().strip("'’")
    if low.endswith(("'s", "’s")):
        low = low[:-2]
    return low


def _read_names(path: Path) -> tuple[set[str], set[str], set[str]]:
    """(names, known first, known last) from the file's three sections."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        text = fh.read()
    sections = {}
    for block in text.split("## ")[1:]:
        key, _, body = block.partition("\n")
        sections[key.strip()] = set(body.split())
    return sections["names"], sections["first"], sections["last"]


def _pinned_model_folder() -> Path | None:
    from . import _models

    for key in _models.AUTO_ORDER:
        try:
            folder = _models.locate(_models.PINNED_MODELS[key], verify=False)
        except Exception:  # noqa: BLE001 - no lexicon only costs precision
            folder = None
        if folder is not None and (folder / "lemmatizer" / "lookups" / "lookups.bin").is_file():
            return folder
    return None


_lock = threading.Lock()
_cached: Gazetteer | None = None


def gazetteer() -> Gazetteer:
    """The process-wide gazetteer (built on first call)."""
    global _cached
    if _cached is None:
        with _lock:
            if _cached is None:
                from spacy.lang.en.stop_words import STOP_WORDS

                names, first, last = _read_names(_DATA)
                lemmas, not_noun = _lemma_index(_pinned_model_folder())
                lexicon = frozenset(STOP_WORDS) | SUPPORT_WORDS | lemmas
                _cached = Gazetteer(frozenset(names - STOP_WORDS), frozenset(first - STOP_WORDS),
                                    frozenset(last - STOP_WORDS), lexicon, not_noun)
    return _cached
