"""The project's own Presidio recognizers: what Presidio cannot find without a spaCy NER model.

* ``PersonNameRecognizer`` — person names from context cues ("my name is", "Dear", "Mr.",
  "call", signature lines), a gazetteer of first and last names (``_names.py``) and
  capitalisation. Names that are also common words (Will, May, Grace) need a cue or a surname.
* ``StreetAddressRecognizer`` — "number + street name + suffix", with an optional unit and a
  "City, ST 12345" tail.
* ``LooseCreditCardRecognizer`` — card numbers Presidio's pattern misses (19-digit Visa,
  2-series Mastercard, 15-digit JCB): 12-19 digits, a known issuer prefix and a valid Luhn sum.

All patterns are precompiled at import; each recognizer is a single pass over the text.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from ._names import AMBIGUOUS, FIRST_NAMES, LAST_NAMES

__all__ = [
    "LooseCreditCardRecognizer",
    "PersonNameRecognizer",
    "StreetAddressRecognizer",
    "project_recognizers",
]

# ---------------------------------------------------------------------------------------------
# person names
# ---------------------------------------------------------------------------------------------

#: Words that look like names when capitalised but are almost never one in support traffic.
_NOT_NAMES: frozenset[str] = frozenset("""
i i'm im a an the this that these those it its he she they we you your my our their his her
hi hello hey dear thanks thank regards best cheers sincerely yours kind warm team support sales
billing admin customer service help desk manager account user client everyone all sir madam
monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday tonight
january february march april may june july august september october november december
mr mrs ms miss dr prof mister doctor professor please sorry ok okay yes no not just also
happy glad sure fine good great here there back new old free busy available interested
api app web email phone call contact order invoice refund ticket error bug issue update
pro basic premium plus enterprise team teams free trial plan
microsoft google apple amazon slack zoom jira notion excel outlook github figma trello asana
windows linux mac chrome firefox safari android iphone ios
street avenue road lane drive boulevard way court place
and or but so if then when what why how who which where
""".split())

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_PARTICLES: frozenset[str] = frozenset({"de", "del", "della", "da", "di", "du", "van", "von", "der", "den",
                                        "la", "le", "bin", "al", "ten", "ter", "dos", "das"})

# Cues are matched against the (lower-cased) text just before a candidate, anchored at its end.
_STRONG_CUE = re.compile(
    r"(?:\bmy name is|\bmy name's|\bname is|\bname\s*:|\bnames are|\bcall me|\bi am|\bi'm|\bi’m|\bim"
    r"|\bsigned(?: for)? by|\bunder the name(?: of)?|\bon behalf of|\baccount holder"
    r"|\b(?:mr|mrs|ms|miss|mx|dr|prof|sir|madam)\.?"
    r"|\b(?:regards|best|cheers|sincerely|thanks|thank you|br|best wishes)[,!.]?\s*\n"
    r"|\b(?:customer|client|patient|user|employee|contact|owner|from|to|cc|signed|author|agent)\s*:)"
    r"\s*$"
)
_MEDIUM_CUE = re.compile(
    r"(?:\bthis is|\bit's|\bdear|\bhi|\bhello|\bhey|\bthanks|\bthank you|\bcall|\bcalled|\bcontact"
    r"|\bask|\basked|\bemail|\bmessage|\btell|\btold|\bspeak (?:with|to)|\btalk (?:with|to)"
    r"|\bspoke (?:with|to)|\btalked (?:with|to)|\bforward (?:this|it)? ?to|\bsend (?:this|it)? ?to"
    r"|\bby|\bwith|\bmanager|\badmin|\bboss|\bcolleague|\bcoworker|\bsupervisor|\bwife|\bhusband"
    r"|\bfriend|\bis|\bwas|\bfor|\bnamed|\bcalled|\bper|\band|\bagent|\btechnician|\bowner)[,:]?\s*$"
)
_CUE_WINDOW = 40


def _is_cap(tok: str) -> bool:
    return tok[0].isupper() and not (len(tok) > 1 and tok.isupper())


class PersonNameRecognizer(EntityRecognizer):
    """Person names without a statistical model: cues + gazetteer + capitalisation.

    Scores: 0.85 after a strong cue ("my name is", "Mr."), 0.7 for a gazetteer first name followed
    by a capitalised surname or after a weaker cue ("Dear", "call"), 0.5 for a lone
    non-ambiguous first name.
    """

    def __init__(self, supported_entities: list[str] | None = None) -> None:
        super().__init__(supported_entities=supported_entities or ["PERSON"], name="FlywheelPersonNameRecognizer",
                         supported_language="en")

    def load(self) -> None:  # noqa: D102 - nothing to load
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        """Find names; ``entities`` is ignored beyond PERSON (the registry already filtered)."""
        return [RecognizerResult("PERSON", s, e, score) for s, e, score in find_person_names(text)]


def _sentence_initial(text: str, start: int) -> bool:
    j = start - 1
    while j >= 0 and text[j] in " \t\"'(“‘":
        j -= 1
    return j < 0 or text[j] in ".!?\n:;"


def find_person_names(text: str) -> list[tuple[int, int, float]]:
    """(start, end, score) of person names in ``text`` (the recognizer's logic, usable alone)."""
    toks = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
    out: list[tuple[int, int, float]] = []
    i = 0
    n = len(toks)
    while i < n:
        s, e, tok = toks[i]
        low = tok.lower()
        cap = _is_cap(tok)
        if not cap and low not in FIRST_NAMES:
            i += 1
            continue
        before = text[max(0, s - _CUE_WINDOW):s].lower()
        strong = bool(_STRONG_CUE.search(before))
        medium = not strong and bool(_MEDIUM_CUE.search(before))

        # extend over following name-like tokens separated by a single space or hyphen
        j = i
        while j + 1 < n and j - i < 3:
            ns, ne, nt = toks[j + 1]
            gap = text[toks[j][1]:ns]
            if gap not in (" ", "-"):
                break
            nlow = nt.lower()
            if (cap and _is_cap(nt)) or (not cap and (nlow in LAST_NAMES or nlow in FIRST_NAMES)):
                if nlow in _NOT_NAMES:
                    break
                j += 1
            elif nlow in _PARTICLES and j + 2 < n and _is_cap(toks[j + 2][2]) and text[ne:toks[j + 2][0]] == " ":
                j += 2
            else:
                break
        span_toks = [t for _, _, t in toks[i:j + 1]]
        score = _score_name(span_toks, cap, strong, medium, _sentence_initial(text, s))
        if score > 0:
            out.append((s, toks[j][1], score))
            i = j + 1
        else:
            i += 1
    return out


def _score_name(words: list[str], cap: bool, strong: bool, medium: bool, initial: bool) -> float:
    first = words[0].lower()
    if first in _NOT_NAMES:
        return 0.0
    lows = [w.lower() for w in words]
    known_first = first in FIRST_NAMES
    ambiguous = first in AMBIGUOUS
    if not cap:  # lower-case names only right after an explicit cue and from the gazetteer
        return 0.85 if strong and known_first and not ambiguous else 0.0
    if strong:
        return 0.85
    multi = len(words) > 1
    surname = multi and lows[-1] in LAST_NAMES and lows[-1] not in AMBIGUOUS
    if multi and known_first and (not ambiguous or surname):
        return 0.75
    if medium and (known_first or first in LAST_NAMES or multi):
        return 0.7 if not ambiguous or multi else 0.0
    if multi and surname and not initial:
        return 0.6
    if not multi and known_first and not ambiguous:
        return 0.5
    return 0.0


# ---------------------------------------------------------------------------------------------
# street addresses
# ---------------------------------------------------------------------------------------------

_SUFFIXES = """
Alley Aly Annex Arcade Avenue Ave Av Bayou Beach Bend Bluff Bluffs Bottom Boulevard Blvd Branch Br
Bridge Brg Brook Brooks Burg Burgs Bypass Byp Camp Canyon Cape Causeway Cswy Center Ctr Centers
Circle Cir Circles Cliff Cliffs Club Common Commons Corner Corners Course Court Ct Courts Cove Coves
Creek Crescent Cres Crest Crossing Xing Crossroad Curve Dale Dam Divide Drive Dr Drives Estate Estates
Expressway Expy Extension Ext Extensions Fall Falls Ferry Field Fields Flat Flats Ford Fords Forest
Forge Forges Fork Forks Fort Freeway Fwy Garden Gardens Gdns Gateway Glen Glens Green Greens Grove Grv
Groves Harbor Harbors Haven Heights Hts Highway Hwy Hill Hills Hollow Inlet Island Islands Isle
Junction Jct Junctions Key Keys Knoll Knolls Lake Lakes Land Landing Lane Ln Light Lights Loaf Lock
Locks Lodge Loop Mall Manor Manors Meadow Meadows Mews Mill Mills Mission Motorway Mount Mountain
Mountains Neck Orchard Oval Overpass Park Parks Parkway Pkwy Parkways Pass Passage Path Pike Pine
Pines Place Pl Plain Plains Plaza Point Points Port Ports Prairie Radial Ramp Ranch Rapid Rapids Rest
Ridge Ridges River Road Rd Roads Route Rte Row Rue Run Shoal Shoals Shore Shores Skyway Spring Springs
Spur Spurs Square Sq Squares Station Sta Stravenue Stream Street St Streets Summit Terrace Ter
Throughway Trace Track Trafficway Trail Trl Tunnel Turnpike Tpke Underpass Union Unions Valley Valleys
Via Viaduct View Views Village Villages Ville Vista Walk Walks Wall Way Ways Well Wells
""".split()
_SUFFIX_RE = "|".join(sorted(set(_SUFFIXES), key=len, reverse=True))
_NAME_WORD = r"(?:[A-Z][A-Za-z'’\-]*|\d{1,3}(?:st|nd|rd|th))"
_STREET = re.compile(
    r"\b\d{1,6}[A-Za-z]?(?:-\d{1,4})?\s+"                      # building number
    r"(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?\s+)?"  # direction
    rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}\s+"                 # street name
    rf"(?:{_SUFFIX_RE})\b\.?"                                    # suffix
    r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?"                     # trailing direction
    r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl|Rm|Room|Bldg|Building)\.?\s*#?\s*[A-Za-z0-9\-]+"
    r"|,?\s*#\s*[A-Za-z0-9\-]+)?"                                # unit
    r"(?:,?[ \t]*\n?[ \t]*(?:[A-Z][A-Za-z'’\-.]*[ \t]+){0,3}[A-Z][A-Za-z'’\-.]*,[ \t]*[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?\b)?"
)


class StreetAddressRecognizer(EntityRecognizer):
    """US-style street addresses: number, street name, suffix, optional unit and city/state/zip."""

    SCORE = 0.9  # above names: "1777 Kramer Court" is an address even though Kramer is a name

    def __init__(self) -> None:
        super().__init__(supported_entities=["STREET_ADDRESS"], name="FlywheelStreetAddressRecognizer",
                         supported_language="en")

    def load(self) -> None:  # noqa: D102
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        """One regex pass; the building number keeps it from firing on prose."""
        return [RecognizerResult("STREET_ADDRESS", m.start(), m.end(), self.SCORE) for m in _STREET.finditer(text)]


# ---------------------------------------------------------------------------------------------
# credit cards Presidio's pattern misses
# ---------------------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![\d\-])(?:\d[ \-]?){11,18}\d(?![\d\-])")
_IIN = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|6|1800|2131|50|5[6-8])")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if k % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


class LooseCreditCardRecognizer(EntityRecognizer):
    """Any 12-19 digit run with a card issuer prefix and a valid Luhn checksum."""

    SCORE = 0.6

    def __init__(self) -> None:
        super().__init__(supported_entities=["CREDIT_CARD"], name="FlywheelCreditCardRecognizer",
                         supported_language="en")

    def load(self) -> None:  # noqa: D102
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        """Luhn and issuer prefix keep random long numbers (order ids, timestamps) mostly out."""
        out = []
        for m in _CARD.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if 12 <= len(digits) <= 19 and _IIN.match(digits) and len(set(digits)) > 2 and _luhn_ok(digits):
                out.append(RecognizerResult("CREDIT_CARD", m.start(), m.end(), self.SCORE))
        return out


def project_recognizers(entities: Iterable[str]) -> list[Any]:
    """Our recognizers for the configured ``entities`` (only those, to keep analysis cheap)."""
    wanted = set(entities)
    out: list[Any] = []
    if "PERSON" in wanted:
        out.append(PersonNameRecognizer())
    if wanted & {"STREET_ADDRESS", "LOCATION"}:
        out.append(StreetAddressRecognizer())
    if "CREDIT_CARD" in wanted:
        out.append(LooseCreditCardRecognizer())
    return out
