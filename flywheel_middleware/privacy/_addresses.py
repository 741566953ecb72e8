"""Street addresses in the shapes people write them across Europe, the Americas and Asia.

``find_addresses(text)`` returns (start, end, score) spans. An address is a *street part* and an
optional *tail*:

* street part, any of:
  - a street-type word after the name, US/UK style, with an optional number before or after:
    "2437 Main St", "14 Crown Street", "Magnolia Avenue 12";
  - a street-type word before the name, Romance/Slavic style: "Rua do Arenque 1634",
    "31 Rue de Kairouan", "ul. Słowicza 10", "Via Franscini 71", "Avenida Otoniel Dutra 1277";
  - a name ending in a street suffix (German, Dutch, Nordic, Finnish, Hungarian, Korean...)
    with a number: "Loorenstrasse 149", "Magasinsgatan 7", "Puruntie 82", "Teheran-ro 152";
  - number, capitalised words, number ("30102 Kaevu 94", "213 Pilekrogen 53");
  - Japanese block numbers ("1-2-3 Shibuya"), PO boxes and US military addresses;
  - after an address cue ("lives at", "my address is", "ship it to", "corner of"), capitalised
    words followed by a house number ("Jahu 80");
* tail: units ("Apt. 4B", "Suite 603", "Flat 2"), then up to four comma- or line-separated
  capitalised place names, region codes and postcodes ("Goiânia", "SMITH'S GREEN",
  "Hungary 18695", "B0J 2H0").

The street-type words and suffixes are general vocabulary of each language, not any data set's.
A lone "Apt. 595" / "Suite 084" is an address part too.
"""

from __future__ import annotations

import re

__all__ = ["find_addresses"]

_FRONT = r"""rue|rua|via|viale|vicolo|piazza|piazzale|largo|corso|calle|carrera|camino|paseo|plaza|praça|praca
|travessa|alameda|estrada|rodovia|avenida|avda|av|avenue|chemin|allée|impasse|quai|cours|boulevard|bd|place
|ul|ulica|ulitsa|prospekt|jalan|jl|lorong|soi|thanon|calea|strada|aleea|bulevardul|str|piata|pl"""
_BACK = r"""street|st|str|road|rd|avenue|ave|av|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|square|sq
|terrace|ter|way|highway|hwy|parkway|pkwy|close|crescent|cres|row|mews|walk|quay|circle|cir|alley|trail|trl
|plaza|loop|mall|path|pike|parade|esplanade|embankment|gardens|grove|hill|isle|summit|union|greens|mill
|radial|turnpike|crossroad|squares|prairie|dale|marg|nagar|salai|gali|utca|út|útja|tér|tee|põik|katu|kuja
|tie|vej|gade|veien|vegen|vei|gata|gatan|väg|vägen|straat|laan|weg|gasse|allee|platz|ring|damm|sokak|sokağı
|cadde|caddesi|bulvarı|street\.|ro|gil|dong|lu|jie|dao|duong|đường|phố"""
_SUFFIX = r"""strasse|straße|str\.?|gasse|weg|platz|allee|damm|ufer|straat|laan|plein|gracht|kade|dreef|singel
|vej|gade|stræde|veien|vegen|vei|gata|gatan|vägen|väg|gränd|torget|tie|katu|kuja|polku|utca|ulica|ulice|-ro|-gil
|-dong|-gu|-lu|-jie"""


def _alt(words: str) -> str:
    return "|".join(sorted({w.strip() for w in words.replace("\n", "").split("|") if w.strip()}, key=len, reverse=True))


_W = r"[^\W\d_][\w'’.\-]*"  # a word (letters first)
_CAP = r"(?:[^\W\d_a-zß-ÿ][\w'’.\-]*)"  # a capitalised word (any script with case)
_PART = r"(?:de|do|da|dos|das|del|della|di|du|des|la|le|les|van|von|der|den|ter|e|y|i|al|el|of|the)"
_NUM = r"\d{1,6}[A-Za-z]?(?:[/\-]\d{1,4}[A-Za-z]?)?\.?"
_NAMEWORDS = rf"(?:{_W})(?:[ \t]+(?:{_PART}[ \t]+)?{_W}){{0,3}}"
_CAPWORDS = rf"(?:{_CAP})(?:[ \t]+(?:{_PART}[ \t]+)?{_CAP}){{0,3}}"

_STREET = re.compile(
    r"(?:"
    # number? + name words + street-type word + number?
    rf"(?:\b{_NUM}[ \t]+){{0,2}}(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?[ \t]+)?{_CAPWORDS}[ \t]+(?i:{_alt(_BACK)})\b\.?(?:[ \t]+{_NUM}(?![\w]))?"
    # number? + street-type word + name words + number?
    rf"|(?:\b{_NUM}[ \t]+)?\b(?i:{_alt(_FRONT)})\b\.?[ \t]+{_NAMEWORDS}(?:[ \t]+{_NUM}(?![\w]))?"
    # number? + suffixed name + number
    rf"|(?:\b{_NUM}[ \t]+)?\b[^\W\d_][\w'’\-]*(?i:{_alt(_SUFFIX)})(?:[ \t]+{_CAP})?[ \t]+{_NUM}(?![\w])"
    # number + capitalised words + number
    rf"|\b\d{{2,6}}[ \t]+{_CAPWORDS}[ \t]+\d{{1,5}}[A-Za-z]?\b\.?"
    # Japanese block numbers: 1-2-3 Shibuya / 1-chome
    r"|\b\d{1,4}-\d{1,4}-\d{1,4}[ \t]+" + _CAPWORDS +
    # PO boxes, US military
    r"|\b(?i:p\.?[ \t]?o\.?[ \t]?box)[ \t]+\d{1,6}"
    r"|\b(?i:psc|cmr|unit)[ \t]+\d{2,5},?[ \t]+(?i:box)[ \t]+\d{1,5}"
    r"|\b(?:USS|USNS|USCGC|USNV)[ \t]+[A-Z][\w'’\-]+"
    r")"
)
_CUE = re.compile(
    r"\b(?i:address(?:\s+is|\s*:)?|lives?\s+(?:at|on|in)|living\s+(?:at|on)|located\s+(?:at|on|in)|based\s+at"
    r"|ship(?:ped|ping)?\s+(?:it\s+|them\s+)?to|sen[dt]\s+(?:it\s+|them\s+|this\s+|a\s+new\s+one\s+)?to"
    r"|deliver(?:ed|y)?\s+(?:it\s+)?to|mail(?:ed)?\s+(?:it\s+)?to|moved\s+to|meet\s+(?:me\s+|you\s+|us\s+)?at"
    r"|corner\s+of|off\s+at|arrived\s+at|stop\s+at|it'?s\s+(?:in|at|on)|same\s*:|following\s*\?|to\s+the\s+same)"
    r"[ \t:,]*"
)
_CUED = re.compile(rf"(?:{_NUM}[ \t]+)?{_CAPWORDS}[ \t]+\d{{1,5}}[A-Za-z]?\b\.?")
_UNIT = re.compile(r"\b(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm|Bldg|Building|Block|Blk)\b\.?[ \t]*#?[ \t]*\d[\w\-]*"
                   r"|#[ \t]?\d[\w\-]*", re.IGNORECASE)
_MILITARY_TAIL = re.compile(r"[ \t]*,?[ \t]*\n?[ \t]*(?:APO|FPO|DPO)[ \t]+A[AEP][ \t]+\d{5}", re.IGNORECASE)
_POSTCODE = r"(?:\d{3,6}(?:[ \-]\d{2,4})?|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2}|nan)"
_PLACE = re.compile(
    rf"(?:[ \t]*,)?[ \t]*(?:\n[ \t]*,?[ \t]*)?"
    rf"(?:{_POSTCODE}(?:[ \t]+{_CAPWORDS})?|{_CAPWORDS}(?:[ \t]*\([^()\n]{{1,30}}\))?(?:[ \t]+{_POSTCODE})?|[A-Z]{{2}}\b(?:[ \t]+{_POSTCODE})?)"
)
_UNIT_TAIL = re.compile(r"(?:[ \t]*,)?[ \t]*\n?[ \t]*" + _UNIT.pattern, re.IGNORECASE)
#: words that end an address tail even when capitalised (a new sentence or clause)
_STOP = frozenset("""i i'm it it's is was the a an and or but if then we you he she they my your our please
thanks thank can could would will should do does did have has had this that there here what when where why how
who which for from with on in at by to of as so not no yes ok hi hello dear regards best""".split())


def _tail(text: str, pos: int, limit: int = 4) -> int:
    """Extend an address over units, place names, region codes and postcodes after ``pos``."""
    end = pos
    for _ in range(3):
        m = _UNIT_TAIL.match(text, end)
        if not m:
            break
        end = m.end()
    m = _MILITARY_TAIL.match(text, end)
    if m:
        end = m.end()
    for _ in range(limit):
        m = _PLACE.match(text, end)
        if not m or m.end() == end:
            break
        chunk = m.group().strip(" \t\n,")
        first = chunk.split()[0].lower().strip(".,") if chunk.split() else ""
        if not chunk or first in _STOP or "\n\n" in m.group():
            break
        # a comma or a line break must separate place names, except a postcode right after
        sep = text[end:m.start() + (len(m.group()) - len(m.group().lstrip(" \t\n,")))]
        if "," not in sep and "\n" not in sep and not re.match(_POSTCODE, chunk):
            break
        end = m.end()
        while True:  # units after a place line ("\n Suite 603")
            u = _UNIT_TAIL.match(text, end)
            if not u:
                break
            end = u.end()
    return end


def find_addresses(text: str) -> list[tuple[int, int, float]]:
    """(start, end, score) of street addresses (and lone address units) in ``text``."""
    if not any(c.isdigit() for c in text):
        return []
    out: list[tuple[int, int, float]] = []
    for m in _STREET.finditer(text):
        value = m.group()
        if not any(c.isdigit() for c in value) and not _CUE_BEFORE(text, m.start()):
            continue  # "Main Street" alone is a place name, not someone's address
        out.append((m.start(), _tail(text, m.end()), 0.9))
    for c in _CUE.finditer(text):
        m = _CUED.match(text, c.end())
        if m:
            out.append((m.start(), _tail(text, m.end()), 0.8))
    for m in _UNIT.finditer(text):
        if m.group().startswith("#"):
            continue
        out.append((m.start(), _tail(text, m.end()), 0.7))
    return _merge(out, text)


def _CUE_BEFORE(text: str, start: int) -> bool:  # noqa: N802 - reads as a predicate in the loop above
    window = text[max(0, start - 40):start]
    return any(m.end() == len(window) for m in _CUE.finditer(window))


def _merge(spans: list[tuple[int, int, float]], text: str = "") -> list[tuple[int, int, float]]:
    """Overlapping spans, and spans only a comma or spaces apart ("Flat 4B, 12 MG Road"), become one."""
    spans.sort()
    merged: list[tuple[int, int, float]] = []
    for s, e, sc in spans:
        if merged and (s <= merged[-1][1] or not text[merged[-1][1]:s].strip(" \t,")):
            ps, pe, psc = merged[-1]
            merged[-1] = (ps, max(pe, e), max(psc, sc))
        else:
            merged.append((s, e, sc))
    return merged
