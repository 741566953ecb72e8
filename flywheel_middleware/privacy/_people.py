"""Person names from the NER model's entities, kept precise, plus what the model misses.

The small English model tags capitalised UI words and headings as PERSON ("Open Orders > Edit
address" -> "Edit"). An entity is dropped when every word of it is an ordinary English word (the
model's own WordNet lemma index, plus the project's common-word list) and none is a known first
or last name. Names the model misses are added back from two generic patterns: a capitalised
word coordinated with a found name ("Marrero and <PERSON>", "Ann, <PERSON> and Li") and the
project's context cues (``recognizers.find_person_names``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

from ._names import COMMON_WORDS, FIRST_NAMES, LAST_NAMES

__all__ = ["load_lexicon", "ner_candidate", "person_spans"]

_WORD = re.compile(r"[^\W\d_][\w'’\-]*")
_CAP = r"[^\W\d_a-zß-ÿ][\w'’\-]*"
_COORD_AFTER = re.compile(rf"[ \t]*(?:,|,?[ \t]+(?:and|&|or|und|et|y|e))[ \t]+({_CAP}(?:[ \t]+{_CAP})?)")
_COORD_BEFORE = re.compile(rf"({_CAP}(?:[ \t]+{_CAP})?)(?:,|,?[ \t]+(?:and|&|or|und|et|y|e))[ \t]+$")
#: "Warrane, can I please speak to your boss?": a name opening the message, then a request
_VOCATIVE = re.compile(rf"[ \t]*({_CAP}(?:[ \t]+{_CAP})?),[ \t]+(?i:can|could|would|will|please|i|we|do|did|are|is|have"
                       rf"|thanks|thank)\b")
_UI = re.compile(r"[>›»|→/]")


def load_lexicon(model_folder: str | Path | None) -> frozenset[str]:
    """English words from the model's lemmatizer tables (WordNet lemma index), or an empty set."""
    if model_folder is None:
        return frozenset()
    path = Path(model_folder) / "lemmatizer" / "lookups" / "lookups.bin"
    if not path.is_file():
        return frozenset()
    import srsly

    tables = srsly.read_msgpack(path)
    words: set[str] = set()
    for values in (tables.get("lemma_index") or {}).values():
        if isinstance(values, list):
            words.update(w for w in values if isinstance(w, str) and w.isalpha())
    return frozenset(words)


def _plain(word: str, lexicon: frozenset[str], names_win: bool = True) -> bool:
    low = word.lower().strip("'’")
    if names_win and (low in FIRST_NAMES or low in LAST_NAMES):
        return False
    if low in COMMON_WORDS or low in lexicon:
        return True
    # plural/verb forms of a lexicon word ("Orders", "Settings", "Edited")
    for suffix in ("s", "es", "ed", "ing"):
        if low.endswith(suffix) and low[: -len(suffix)] in lexicon:
            return True
    return False


def _is_name(word: str) -> bool:
    low = word.lower()
    return low in FIRST_NAMES or low in LAST_NAMES


def ner_candidate(text: str) -> bool:
    """Whether NER can find a name here: a capitalised word that is not an ordinary word at the
    start of a sentence. Lower-case-only texts skip the model (it rarely tags them anyway; the
    context cues still run)."""
    for m in _WORD.finditer(text):
        tok = m.group()
        if not tok[0].isupper() or tok in ("I", "I'm", "I’m", "I'll", "I've", "I'd", "OK"):
            continue
        j = m.start() - 1
        while j >= 0 and text[j] in " \t\"'(“‘*-":
            j -= 1
        initial = j < 0 or text[j] in ".!?\n:;"
        if not initial or tok.lower() not in COMMON_WORDS:
            return True
    return False


def person_spans(text: str, ents: Iterable[tuple[int, int, str]], lexicon: frozenset[str],
                 extra: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """PERSON spans: the model's (without plain-word ones), ``extra`` (cue-based), coordinated names."""
    found: list[tuple[int, int, float]] = []
    for start, end, label in ents:
        if label != "PERSON":
            continue
        words = list(_WORD.finditer(text, start, end))
        if not words or all(_plain(w.group(), lexicon) for w in words):
            continue
        if all(_plain(w.group(), lexicon, names_win=False) for w in words) and not all(_is_name(w.group()) for w in words):
            continue  # "Edit Profile": ordinary words, one of which happens to be a name somewhere
        while len(words) > 1 and _plain(words[0].group(), lexicon):  # "Sure Jonas" -> "Jonas"
            words.pop(0)
        while len(words) > 1 and _plain(words[-1].group(), lexicon):
            words.pop()
        start, end = words[0].start(), words[-1].end()
        before = text[max(0, start - 3):start]
        after = text[end:end + 3]
        if _UI.search(before) or _UI.search(after):
            continue  # "Settings > Foo > Bar": a menu path
        found.append((start, end, 0.85))
    for start, end, score in extra:
        # a lone gazetteer name without any cue ("Edit" is a Hungarian first name) must not be
        # an ordinary English word when the model did not call it a person
        words = _WORD.findall(text[start:end])
        uncued = score <= 0.65 or score == 0.75  # gazetteer-only scores of find_person_names
        if uncued and all(_plain(w, lexicon, names_win=False) for w in words) and (
                score <= 0.65 or not all(_is_name(w) for w in words)):
            continue
        found.append((start, end, score))
    m = _VOCATIVE.match(text)
    if m and not all(_plain(w, lexicon) for w in _WORD.findall(m.group(1))):
        found.append((m.start(1), m.end(1), 0.7))
    seen = {(s, e) for s, e, _ in found}
    queue = list(found)
    while queue:
        start, end, _ = queue.pop()
        for m in (_COORD_AFTER.match(text, end), _COORD_BEFORE.search(text[max(0, start - 60):start])):
            if m is None:
                continue
            s = m.start(1) + (0 if m.re is _COORD_AFTER else max(0, start - 60))
            e = s + len(m.group(1))
            if (s, e) in seen or any(s < fe and fs < e for fs, fe, _ in found):
                continue
            if all(_plain(w, lexicon) for w in _WORD.findall(m.group(1))):
                continue
            seen.add((s, e))
            found.append((s, e, 0.7))
            queue.append((s, e, 0.7))
    return found
