"""Person names that the sentence around them gives away, even where the model says ORG.

The medium English model tags many lone capitalised words it does not know as ORG ("says
Ahtisaari", "Daniel is a very sympathetic person"). A few English constructions are about people
only, so the word they frame is a name whatever the model says (unless it calls it a place, or the
word is an ordinary English word that is no name):

* a predicate that makes the subject a person: "Daniel is a very sympathetic person",
  "Monjeau and Chapman were precision engineers";
* a reporting verb closing a quote: '..., says Ahtisaari.';
* a possessive of kin or of a life event: "Świętosław's kid", "Tesmija Ziherl's killers";
* speaker labels of a dialogue, two or more lines of "Name: what they say".
"""

from __future__ import annotations

import re

from ._names import Gazetteer

__all__ = ["context_candidate", "context_names"]

_CAP = r"[^\W\d_a-zß-ÿ][\w'’\-]*"
#: Nouns that only people are (singular; "s"/"es" plurals are matched too, "men"/"women"/"people" as written).
_PERSON_NOUNS = ("person|man|woman|guy|girl|boy|lady|gentleman|friend|kid|child|listener|colleague|neighbou?r"
                 "|student|teacher|parent|mother|father|husband|wife|partner|writer|singer|actor|actress|leader"
                 "|engineer|doctor|nurse|lawyer|artist|musician|scientist|player|author|poet|painter|director")
_PREDICATE = re.compile(rf"(?<![\w'’])({_CAP})[ \t]+(?:is|was|seems|seemed)[ \t]+(?:such[ \t]+)?(?:a|an)[ \t]+"
                        rf"(?:[a-z][a-z\-]*[ \t]+){{0,3}}(?:{_PERSON_NOUNS})\b")
#: "Monjeau and Chapman were precision engineers"
_PLURAL_PREDICATE = re.compile(rf"(?<![\w'’])({_CAP})[ \t]+(?:and|&)[ \t]+({_CAP})[ \t]+(?:are|were)[ \t]+"
                               rf"(?:[a-z][a-z\-]*[ \t]+){{0,3}}(?:(?:{_PERSON_NOUNS})e?s|people|men|women|children)\b")
_REPORTED = re.compile(rf"\b(?:says|said|adds|added|asks|asked|writes|wrote|replies|replied|explains|explained"
                       rf"|recalls|recalled|notes|noted)[ \t]+({_CAP}(?:[ \t]+{_CAP})?)(?=[ \t]*(?:[.,;!?]|$))")
_POSSESSIVE_OF_KIN = re.compile(
    rf"({_CAP}(?:[ \t]+{_CAP})?)['’]s[ \t]+(?:kids?|wife|husband|sons?|daughters?|child|children|mother|mom|mum"
    r"|father|dad|brothers?|sisters?|parents|family|boyfriend|girlfriend|fianc[ée]e?|widow|widower|killers?"
    r"|murder(?:er)?|funeral|grave|birthday|death|grandson|granddaughter|grandmother|grandfather)\b")
_SPEAKER = re.compile(rf"^[ \t]*({_CAP}(?:[ \t]+{_CAP})?)[ \t]*:[ \t]+(?=\S)", re.MULTILINE)
_DETERMINERS = frozenset("the a an this that these those my our your his her their its every each no".split())
_PLACES = frozenset({"GPE", "LOC", "FAC"})
_SCORE = 0.7


def _name_like(word: str, g: Gazetteer) -> bool:
    """A word these constructions may call a name: no ordinary word, or a name the database
    knows that WordNet lists only as a noun ("Daniel", not "Frank" or "Bill")."""
    if g.is_support(word) or g.is_designator(word):
        return False
    return not g.is_plain(word) or (g.is_name(word) and g.is_proper_like(word))


def _all_name_like(phrase: str, g: Gazetteer) -> bool:
    return all(_name_like(w, g) for w in phrase.split())


def context_candidate(text: str) -> bool:
    """Whether one of the constructions is in ``text`` (the model must then run: it tells places)."""
    return any(rx.search(text) for rx in (_PREDICATE, _PLURAL_PREDICATE, _REPORTED, _POSSESSIVE_OF_KIN)) or (
        len(_SPEAKER.findall(text)) >= 2)


def context_names(text: str, g: Gazetteer, places: list[tuple[int, int]]) -> list[tuple[int, int, float]]:
    """(start, end, score) of names framed by the constructions of the module docstring;
    ``places`` are the model's place entities (never overridden)."""
    out: list[tuple[int, int, float]] = []

    def add(start: int, end: int, over_places: bool = False) -> None:
        if over_places or not any(s < end and start < e for s, e in places):
            out.append((start, end, _SCORE))

    # a place is never "a sympathetic person" and does not close a quote: these two override the model
    for m in _PREDICATE.finditer(text):
        prev = text[:m.start(1)].split()[-1:]
        word = m.group(1)
        if (not prev or prev[0].lower() not in _DETERMINERS) and (
                _name_like(word, g) or (g.is_name(word) and word.lower() in g.first)):
            add(m.start(1), m.end(1), over_places=True)
    for m in _PLURAL_PREDICATE.finditer(text):
        if all(_name_like(m.group(k), g) or g.is_known(m.group(k)) for k in (1, 2)):
            add(m.start(1), m.end(1))  # "Germany and France were good friends": the model says GPE
            add(m.start(2), m.end(2))
    for m in _REPORTED.finditer(text):
        if _all_name_like(m.group(1), g):
            add(m.start(1), m.end(1), over_places=True)
    for m in _POSSESSIVE_OF_KIN.finditer(text):
        if _all_name_like(m.group(1), g):
            add(m.start(1), m.end(1))
    speakers = [m for m in _SPEAKER.finditer(text) if _all_name_like(m.group(1), g)]
    if len(speakers) >= 2:
        for m in speakers:
            add(m.start(1), m.end(1))
    return out
