"""The project's own Presidio recognizers: what Presidio cannot find without a spaCy NER model.

* ``PersonNameRecognizer`` — person names from context cues ("my name is", "Dear", "Mr.",
  "call", signature lines), the names database of ``_names.py`` (names-dataset) and
  capitalisation. Names that are also common words (Will, May, Grace) need a cue or a surname.
* ``StreetAddressRecognizer`` — "number + street name + suffix", with an optional unit and a
  "City, ST 12345" tail.
* ``NanpPhoneRecognizer`` — US/Canada numbers with ``001``/``+1`` prefixes and extensions.
* ``LooseCreditCardRecognizer`` — card numbers Presidio's pattern misses (19-digit Visa,
  2-series Mastercard, 15-digit JCB): 12-19 digits, a known issuer prefix and a valid Luhn sum.

All patterns are precompiled at import; each recognizer is a single pass over the text.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from ._names import gazetteer
from ._phones import find_national_phones, with_extensions

__all__ = [
    "LooseCreditCardRecognizer",
    "NanpPhoneRecognizer",
    "PersonNameRecognizer",
    "StreetAddressRecognizer",
    "find_national_phones",
    "project_recognizers",
    "with_extensions",
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
pro basic premium plus enterprise team teams free trial plan guys folks all there world
microsoft google apple amazon slack zoom jira notion excel outlook github figma trello asana
windows linux mac chrome firefox safari android iphone ios
street avenue road lane drive boulevard way court place
and or but so if then when what why how who which where
""".split())

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_PARTICLES: frozenset[str] = frozenset({"de", "del", "della", "da", "di", "du", "van", "von", "der", "den",
                                        "la", "le", "bin", "al", "ten", "ter", "dos", "das"})

# Cue classes, matched once per text over the lower-cased text; each match ends where the
# following token starts, so a token's cue is a dict lookup by its start offset.
#  NAME: the next words *are* a name, even lower-case and unknown ("my name is kaja mroczko").
_NAME_CUE = re.compile(
    r"\b(?:my name is|my name's|my names|name is|names are|name\s*:|full name\s*:|call me"
    r"|under the name(?: of)?|goes by|(?:first|last|full|sur|family|given|maiden)[ \t]?name\?)[,:]?[ \t]*"
)
#  STRONG: a capitalised word that follows is a name unless it is a common word ("I'm Sorry").
_STRONG_CUE = re.compile(
    r"(?:\b(?:i am|i'm|i’m|im|signed(?: for)? by|on behalf of|account holder|cardholder"
    r"|mr|mrs|ms|miss|mx|dr|prof|sir|madam|mister|señor|senor|sra|sr|herr|frau|mme|mlle)\.?"
    r"|\b(?:regards|best|cheers|sincerely|thanks|thank you|br|best wishes|kind regards|yours)[,!.]?[ \t]*\n"
    r"|\b(?:customer|client|patient|user|employee|contact|owner|from|to|cc|signed|author|agent|name"
    r"|recipient|sender|attn|attention)[ \t]*:)[ \t]*"
)
#  PERSONAL: words that are usually followed by a person ("Dear", "spoke to", "Thanks,").
_PERSONAL_CUE = re.compile(
    r"(?:\b(?:dear|hi|hello|hey|thanks|thank you|call|called|calling|contact|contacted|ask|asked"
    r"|tell|told|email|emailed|message|messaged|text|texted|ping|cc|meet|met|reach|reached"
    r"|(?:speak|spoke|speaking|talk|talked|talking|chat|chatted|forward (?:this|it)|send (?:this|it)"
    r"|sent (?:this|it)|transfer me|escalate (?:this|it)|assign (?:this|it)|give (?:this|it)|reply) (?:with|to)"
    r"|helped by|assisted by|served by|approved by|signed by|handled by|opened by|reported by"
    r"|my (?:manager|admin|boss|colleague|coworker|supervisor|wife|husband|friend|partner|son|daughter"
    r"|mother|father|mom|dad|brother|sister|assistant|accountant|lawyer|doctor|agent)"
    r"|our (?:admin|manager|ceo|cto|accountant|agent|contact|rep)|ceo|cto|cfo|agent|technician|rep)"
    r"[,:]?[ \t]*)"
)
#  VOCATIVE: "Thanks for your help, Jasmine." (a separate pass: it starts where "thanks" does)
_VOCATIVE_CUE = re.compile(r"\b(?:thanks|thank you|cheers|bye|hi|hello|hey|ok|okay|sorry)\b[^.!?\n,]{1,40},[ \t]*")
#  WEAK: generic words; the candidate must then look like a name by itself.
_WEAK_CUE = re.compile(r"\b(?:is|was|with|by|and|for|per|from|to|asked|said|and)[ \t]+")

_NAME, _STRONG, _PERSONAL, _WEAK = 4, 3, 2, 1


def _is_cap(tok: str) -> bool:
    return tok[0].isupper() and not (len(tok) > 1 and tok.isupper())


def _cue_levels(lower: str) -> dict[int, int]:
    levels: dict[int, int] = {}
    for level, rx in ((_WEAK, _WEAK_CUE), (_PERSONAL, _PERSONAL_CUE), (_PERSONAL, _VOCATIVE_CUE),
                      (_STRONG, _STRONG_CUE), (_NAME, _NAME_CUE)):
        for m in rx.finditer(lower):
            end = m.end()
            if levels.get(end, 0) < level:
                levels[end] = level
    return levels


def _sentence_initial(text: str, start: int) -> bool:
    j = start - 1
    while j >= 0 and text[j] in " \t\"'(“‘":
        j -= 1
    return j < 0 or text[j] in ".!?\n:;"


def _is_common(low: str) -> bool:
    """Never a name by itself: a support word, or an ordinary English word that is no known name."""
    g = gazetteer()
    return low in _NOT_NAMES or (g.is_plain(low) and not g.is_known(low))


class PersonNameRecognizer(EntityRecognizer):
    """Person names without a statistical model: cues + gazetteer + capitalisation.

    Registered with Presidio for callers that use the analyzer directly; the ``Redactor`` calls
    ``find_person_names`` itself (cheaper than a second trip through Presidio's machinery).
    """

    def __init__(self, supported_entities: list[str] | None = None) -> None:
        super().__init__(supported_entities=supported_entities or ["PERSON"], name="FlywheelPersonNameRecognizer",
                         supported_language="en")

    def load(self) -> None:  # noqa: D102 - nothing to load
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        """Find names; ``entities`` is ignored beyond PERSON (the registry already filtered)."""
        return [RecognizerResult("PERSON", s, e, score) for s, e, score in find_person_names(text)]


def find_person_names(text: str) -> list[tuple[int, int, float]]:
    """(start, end, score) of person names in ``text``.

    Scores: 0.9 after a name cue ("my name is"), 0.85 after a strong cue ("Mr.", "I'm",
    signature), 0.75 for a gazetteer first name + capitalised surname, 0.7 after a personal cue
    ("Dear", "spoke to"), 0.5 for a lone non-ambiguous gazetteer first name.
    """
    toks = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
    if not toks:
        return []
    levels = _cue_levels(text.lower())
    out: list[tuple[int, int, float]] = []
    i, n = 0, len(toks)
    while i < n:
        s, e, tok = toks[i]
        low = tok.lower()
        cap = _is_cap(tok)
        cue = levels.get(s, 0)
        if not cap and cue < _NAME:
            i += 1
            continue
        if _is_common(low) and not (cue >= _STRONG and low in gazetteer().last):
            i += 1
            continue
        j = i  # extend over following name-like tokens separated by one space or hyphen
        while j + 1 < n and j - i < 3:
            ns, ne, nt = toks[j + 1]
            if text[toks[j][1]:ns] not in (" ", "-"):
                break
            nlow = nt.lower()
            if nlow in _NOT_NAMES or (_is_common(nlow) and nlow not in gazetteer().last):
                break
            if cap and _is_cap(nt) or not cap:
                j += 1
            elif nlow in _PARTICLES and j + 2 < n and _is_cap(toks[j + 2][2]) and text[ne:toks[j + 2][0]] == " ":
                j += 2
            else:
                break
        words = [t.lower() for _, _, t in toks[i:j + 1]]
        score = _score_name(words, cap, cue, _sentence_initial(text, s))
        if score > 0:
            out.append((s, toks[j][1], score))
            i = j + 1
        else:
            i += 1
    return out


def _score_name(words: list[str], cap: bool, cue: int, initial: bool) -> float:
    first = words[0]
    g = gazetteer()
    if cue == _NAME:
        return 0.9
    if not cap:
        return 0.0
    if cue == _STRONG:
        # "I'm Running late", "I'm Locked out": inflected verbs are not in the common-word list
        if first.endswith(("ing", "ed")) and not g.is_known(first):
            return 0.0
        return 0.85
    known_first = first in g.first
    ambiguous = g.is_plain(first)  # Will, May, Grace, Brown: alone they are no evidence of a name
    multi = len(words) > 1
    surname = multi and words[-1] in g.last and not g.is_plain(words[-1])
    if multi and known_first and (not ambiguous or surname):
        return 0.75
    if cue == _PERSONAL:
        return 0.7
    if cue == _WEAK and (multi or (known_first and not ambiguous) or first in g.last and not ambiguous):
        return 0.65
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
#: Suffixes that are everyday words too ("3 Key Points", "2 Club Passes"): with these we want a
#: 3+ digit building number or a unit / city tail before calling it an address.
_STRONG_SUFFIXES = frozenset("""
Avenue Ave Av Boulevard Blvd Street St Road Rd Lane Ln Drive Dr Court Ct Place Pl Terrace Ter Parkway Pkwy
Highway Hwy Circle Cir Way Square Sq Crescent Cres Alley Aly Expressway Expy Freeway Fwy Turnpike Tpke
Trail Trl Plaza Route Rte
""".split())
_STREET = re.compile(
    r"\b(?P<num>\d{1,6})[A-Za-z]?(?:-\d{1,4})?\s+"              # building number
    r"(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?\s+)?"  # direction
    rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}\s+"                 # street name
    rf"(?P<suffix>{_SUFFIX_RE})\b\.?"                             # suffix
    r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?"                     # trailing direction
    r"(?P<tail>(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl|Rm|Room|Bldg|Building)\.?\s*#?\s*[A-Za-z0-9\-]+"
    r"|,?\s*#\s*[A-Za-z0-9\-]+)?"                                # unit
    r"(?:,?[ \t]*\n?[ \t]*(?:[A-Z][A-Za-z'’\-.]*[ \t]+){0,3}[A-Z][A-Za-z'’\-.]*,[ \t]*[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?\b)?)"
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
        return [RecognizerResult("STREET_ADDRESS", m.start(), m.end(), self.SCORE) for m in _STREET.finditer(text)
                if m.group("suffix") in _STRONG_SUFFIXES or len(m.group("num")) >= 3 or m.group("tail")]


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


# ---------------------------------------------------------------------------------------------
# North American phone numbers with the decorations phonenumbers rejects
# ---------------------------------------------------------------------------------------------

_NANP = re.compile(
    r"(?<![\w+])(?:(?:\+?1|001)[ \t.\-]?)?"
    r"(?:\(\d{3}\)[ \t]?|\d{3}[ \t.\-])\d{3}[ \t.\-]\d{4}"
    r"(?:[ \t]*(?:x|ext\.?|extension|#)[ \t]*\d{1,6})?(?![\w\-])"
    # any "+CC" number of 8-15 digits in groups, valid or not: "+44 20 9551 5059", "+49 (30) 1234567"
    r"|(?<![\w+])\+\d{1,3}(?:[ \t.\-]?\(?\d{1,5}\)?){2,6}(?:[ \t]*(?:x|ext\.?)[ \t]*\d{1,6})?(?![\w\-])"
)


_BARE10 = re.compile(r"(?<![\w+\-.])[2-9]\d{2}[2-9]\d{6}(?![\w\-])")
_PHONE_CONTEXT = re.compile(r"call|phone|tel|mobile|cell|text|reach|dial|fax|contact|number|whatsapp|sms|ring")
_EXT = re.compile(r"[ \t]*(?:x|ext\.?)", re.IGNORECASE)


class NanpPhoneRecognizer(EntityRecognizer):
    """US/Canada numbers in the shapes people type: ``001-`` or ``+1`` prefixes, ``(212)555-0187``,
    extensions (``x204``) — python-phonenumbers misses the prefixed and extended forms — and any
    "+CC" digit groups of plausible length, valid numbering plan or not."""

    SCORE = 0.6

    def __init__(self) -> None:
        super().__init__(supported_entities=["PHONE_NUMBER"], name="FlywheelNanpPhoneRecognizer",
                         supported_language="en")

    def load(self) -> None:  # noqa: D102
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        """Separators are required between groups (so dates and plain ids do not match), except for
        a bare 10-digit NANP number with a phone word ("call", "reach", "mobile") just before it."""
        out = [RecognizerResult("PHONE_NUMBER", m.start(), m.end(), self.SCORE) for m in _NANP.finditer(text)
               if m.group()[0] != "+" or 8 <= sum(c.isdigit() for c in _EXT.split(m.group())[0]) <= 15]
        for m in _BARE10.finditer(text):
            if _PHONE_CONTEXT.search(text[max(0, m.start() - 40):m.start()].lower()):
                out.append(RecognizerResult("PHONE_NUMBER", m.start(), m.end(), self.SCORE))
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
    if "PHONE_NUMBER" in wanted:
        out.append(NanpPhoneRecognizer())
    return out


# ---------------------------------------------------------------------------------------------
# IBANs in any case (national phone formats: ``_phones.py``)
# ---------------------------------------------------------------------------------------------

_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \t]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")


def _iban_ok(value: str) -> bool:
    raw = re.sub(r"\s", "", value).upper()
    if not 15 <= len(raw) <= 34:
        return False
    moved = raw[4:] + raw[:4]
    digits = "".join(str(int(c, 36)) for c in moved)
    return int(digits) % 97 == 1


def find_ibans(text: str) -> list[tuple[int, int, float]]:
    """IBANs written in any case, with or without spaces, kept only when the mod-97 check holds
    (trimming trailing groups that belong to the next word: "…0130 00 today")."""
    out: list[tuple[int, int, float]] = []
    for m in _IBAN.finditer(text):
        value = m.group()
        # candidate ends: token boundaries, longest first; a spaced IBAN's last group has a digit
        ends = [k for k in range(len(value), 14, -1) if k == len(value) or value[k] in " \t"]
        for k in ends:
            cand = value[:k]
            last = cand.split()[-1]
            if (" " in cand or "\t" in cand) and not any(c.isdigit() for c in last):
                continue
            if _iban_ok(cand):
                out.append((m.start(), m.start() + k, 0.9))
                break
    return out
