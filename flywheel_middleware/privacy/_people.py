"""Person names from the NER model's entities, kept precise, plus what the model misses.

The small English model tags capitalised UI words and headings as PERSON ("Open Orders > Edit
address" -> "Edit"). An entity is dropped when every word of it is an ordinary English word
(``_names``: stop words + the model's WordNet lemma index) and none is a known first or last
name. Names the model misses are added back by generic rules over the names database
(``_names``: names-dataset, 105 countries):

* a capitalised word that is not an ordinary English word and is a first or last name somewhere
  ("Halldór", "Nishiyama"), with the capitalised words next to it ("Cleopatra Mordvinova"), and
  a known first name followed by a known last name ("Ana Dias");
* two lower-case words, a known first name then a name, neither an ordinary word and not after
  a place preposition ("eva kleist", not "in san diego");
* a capitalised word coordinated with a found name ("Marrero and <PERSON>", "<PERSON> and
  Brown": a known surname even if it is an ordinary word too);
* a name opening a message before a request ("Warrane, can I ...");
* a capitalised word that is no ordinary word and ends like a surname in many languages
  ("Yefremova", "Usamov", "Papadopoulos", "Jónsdóttir"), unless the model calls it a place;
* a popular first name as the subject of a clause ("Catherine is ...": WordNet knows "catherine"
  only as a noun, unlike "Hope is ...", "Bill is due"), or a known surname before a verb only
  people do ("Walker began writing");
* a middle initial between two capitalised words that are names or no ordinary words
  ("Cirilka S Košutnik", "Ruth R. Montez"); an initial never makes a model entity "plain";
* a model PERSON made of words WordNet knows only as nouns, with a known first or last name
  among them ("Maya Langset", "Fern Young");
* the people-only constructions of ``_person_context`` ("says Ahtisaari.", "X's kid");
* the context cues of ``recognizers.find_person_names`` ("my name is", "Dear", "Mr.").
"""

from __future__ import annotations

import re
from typing import Iterable

from ._names import Gazetteer, gazetteer
from ._person_context import context_candidate, context_names

__all__ = ["ner_candidate", "person_spans"]

_WORD = re.compile(r"[^\W\d_][\w'’\-]*")
_CAP = r"[^\W\d_a-zß-ÿ][\w'’\-]*"
_COORD_AFTER = re.compile(rf"[ \t]*(?:,|,?[ \t]+(?:and|&|or|und|et|y|e))[ \t]+({_CAP}(?:[ \t]+{_CAP})?)")
_COORD_BEFORE = re.compile(rf"({_CAP}(?:[ \t]+{_CAP})?)(?:,|,?[ \t]+(?:and|&|or|und|et|y|e))[ \t]+$")
#: "Warrane, can I please speak to your boss?": a name opening the message, then a request
_VOCATIVE = re.compile(rf"[ \t]*({_CAP}(?:[ \t]+{_CAP})?),[ \t]+(?i:can|could|would|will|please|i|we|do|did|are|is|have"
                       rf"|thanks|thank)\b")
#: "Catherine is a very sympathetic person", "Walker began writing": a popular first name (or, before a
#: verb only people do, a surname) as the subject of a clause, even when it is an English word too
_SUBJECT = re.compile(rf"({_CAP})[ \t]+(is|was|has|had|says|said|tells|told|asks|asked|lives|lived|works|worked"
                      r"|writes|wrote|began|begins|replied|replies|emailed|called|thinks|thought|wants|wanted|likes"
                      r"|liked|loves|loved|knows|knew|met|went|came|left)\b")
_PEOPLE_VERBS = frozenset("says said tells told asks asked writes wrote began begins replied replies emailed".split())
#: Endings that mark a surname in many languages (Slavic -ov/-ova/-ski/-enko, Romanian -escu,
#: Greek -opoulos/-akis, Nordic -sson/-dottir, Georgian -shvili/-adze, Turkish -oğlu, Polish -wicz).
_SURNAME_ENDING = re.compile(r"(?:ova|ová|ov|ev|eva|ski|ska|sky|skaya|skiy|enko|escu|opoulos|poulos|akis|idis|sson"
                             r"|sdóttir|dottir|ović|ovic|ević|evic|wicz|czyk|shvili|adze|oglu|oğlu)(?:'s|’s)?$")
_PLACES = frozenset({"GPE", "LOC", "FAC"})
_NOT_PEOPLE = frozenset({"GPE", "LOC", "ORG", "NORP", "FAC", "PRODUCT", "WORK_OF_ART", "EVENT", "LANGUAGE"})
_DETERMINERS = frozenset("the a an this that these those my our your his her their its every each no".split())
_UI = re.compile(r"[>›»|→/]")
_POSSESSIVE = ("'s", "’s")
_PLACE_PREPOSITIONS = frozenset("in to from at near via of into around across visit visiting".split())
_SCORE_DB = 0.6  # below addresses (0.9): "1777 Kramer Court" stays one address


def _plain(word: str, g: Gazetteer, names_win: bool = True) -> bool:
    """An ordinary English word (a known first/last name is not, unless ``names_win`` is off)."""
    if names_win and g.is_known(word):
        return False
    return g.is_plain(word)


def _cap(word: str) -> bool:
    return word[0].isupper() and not (len(word) > 1 and word.isupper())


def _initial(word: str) -> bool:
    """A middle initial ("S", "R" of "R."): no evidence either way."""
    return len(word) == 1 and word.isupper()


def _kept_model_person(words: list[str], g: Gazetteer) -> bool:
    """Whether a model PERSON entity of ordinary words is still a name: every word a known name,
    or a known first (or last) name with words WordNet knows only as nouns ("Maya Langset")."""
    if all(g.is_known(w) for w in words):
        return True
    if len(words) < 2 or any(g.is_support(w) or g.is_designator(w) for w in words):
        return False
    anchored = words[0].lower() in g.first or _bare_low(words[-1]) in g.last
    return anchored and all(g.is_known(w) or g.is_proper_like(w) for w in words)


def _sentence_initial(text: str, start: int) -> bool:
    j = start - 1
    while j >= 0 and text[j] in " \t\"'(“‘*-":
        j -= 1
    return j < 0 or text[j] in ".!?\n:;"


def ner_candidate(text: str) -> bool:
    """Whether NER can find a name here: a capitalised word that is not an ordinary word at the
    start of a sentence. Lower-case-only texts skip the model (it rarely tags them anyway; the
    database and context rules still run)."""
    g = gazetteer()
    for m in _WORD.finditer(text):
        tok = m.group()
        if not tok[0].isupper() or tok in ("I", "I'm", "I’m", "I'll", "I've", "I'd", "OK"):
            continue
        if not _sentence_initial(text, m.start()) or not g.is_plain(tok):
            return True
    # "Paris is ...", "America's children": the model tells places
    return any(_subject_name(m, g) for m in _SUBJECT.finditer(text)) or context_candidate(text)


def _subject_name(m: re.Match[str], g: Gazetteer) -> bool:
    word, verb = m.group(1), m.group(2)
    low = _bare_low(word)
    if g.is_support(word) or g.is_designator(word) or not g.is_proper_like(word):
        return False
    return low in g.first or (low in g.last and verb in _PEOPLE_VERBS)


def _bare_low(word: str) -> str:
    low = word.lower()
    return low[:-2] if low.endswith(_POSSESSIVE) else low


def _trim_possessive(text: str, end: int) -> int:
    return end - 2 if text[end - 2:end] in _POSSESSIVE else end


def _database_names(text: str, g: Gazetteer) -> list[tuple[int, int, float]]:
    """Runs of capitalised words holding a name that is no ordinary word, and lower-case
    "first last" pairs (see the module docstring)."""
    toks = list(_WORD.finditer(text))
    out: list[tuple[int, int, float]] = []
    i = 0
    while i < len(toks):  # maximal runs of capitalised words joined by one space or hyphen
        if not _cap(toks[i].group()):
            i += 1
            continue
        j = i
        while j + 1 < len(toks) and _cap(toks[j + 1].group()) and (
                text[toks[j].end():toks[j + 1].start()] in (" ", "-")
                or (_initial(toks[j].group()) and text[toks[j].end():toks[j + 1].start()] == ". ")):
            j += 1
        run = toks[i:j + 1]
        after = toks[j + 1].group() if j + 1 < len(toks) and text[run[-1].end():toks[j + 1].start()] == " " else ""
        if g.is_designator(run[-1].group()) or (after and g.is_designator(after)):
            i = j + 1  # "Victoria Station", "Chase Bank", "Bremen Ohlenhof Inc": a place or a firm
            continue
        odd = [not g.is_plain(t.group()) for t in run]
        # an ordinary word counts as a name only if it is a popular one ("Grace", not "Dear") or
        # stands beside a word that is no ordinary word ("Cleopatra Mordvinova")
        named = [g.is_name(t.group()) and not g.is_support(t.group())
                 and (odd[x] or g.is_known(t.group()) or (x > 0 and odd[x - 1]) or (x + 1 < len(run) and odd[x + 1]))
                 for x, t in enumerate(run)]
        for x in range(1, len(run) - 1):  # "Cirilka S Košutnik": a middle initial between two name-like words
            if _initial(run[x].group()) and all(odd[y] or named[y] for y in (x - 1, x + 1)):
                odd[x], named[x] = False, True
        k = 0
        while k < len(run):  # sub-runs of odd-or-named words with an odd name, or an odd word beside a name
            if not (odd[k] or named[k]):
                k += 1
                continue
            m = k
            while m + 1 < len(run) and (odd[m + 1] or named[m + 1]):
                m += 1
            piece = range(k, m + 1)
            strong = any(odd[x] and named[x] for x in piece)
            pair = len(piece) > 1 and any(odd[x] for x in piece) and any(named[x] for x in piece)
            # "Ana Dias", "Catherine Walker": a known first name then a known last name
            full = len(piece) > 1 and run[k].group().lower() in g.first and _bare_low(run[m].group()) in g.last
            if strong or pair or full:
                start, end = run[k].start(), _trim_possessive(text, run[m].end())
                before, after = text[max(0, start - 3):start], text[end:end + 3]
                if not (_UI.search(before) or _UI.search(after)):
                    out.append((start, end, _SCORE_DB))
            k = m + 1
        i = j + 1
    for n, (a, b) in enumerate(zip(toks, toks[1:])):
        x, y = a.group(), b.group()
        if n > 0 and toks[n - 1].group().lower() in _PLACE_PREPOSITIONS:
            continue  # "in san diego", "to hong kong": lower-case places look like names too
        if (x.islower() and y.islower() and text[a.end():b.start()] == " " and g.is_known(x) and x.lower() in g.first
                and g.is_name(y) and not g.is_plain(x) and g.is_proper_like(y)):  # "eva kleist": WordNet's "kleist" is a noun only
            out.append((a.start(), _trim_possessive(text, b.end()), 0.55))
    return out


def person_spans(text: str, ents: Iterable[tuple[int, int, str]],
                 extra: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """PERSON spans: the model's (without plain-word ones), ``extra`` (cue-based), the names
    database rules and names coordinated with any of those."""
    g = gazetteer()
    found: list[tuple[int, int, float]] = []
    for start, end, label in ents:
        if label != "PERSON":
            continue
        words = list(_WORD.finditer(text, start, end))
        core = [w.group() for w in words if not _initial(w.group())]
        if not core or all(_plain(w, g) for w in core):
            continue
        if all(_plain(w, g, names_win=False) for w in core) and not _kept_model_person(core, g):
            continue  # "Edit Profile": ordinary words, one of which happens to be a name somewhere
        # "Sure Jonas" -> "Jonas"; a word WordNet knows only as a noun stays ("Fern Young", "Maya Langset")
        while len(words) > 1 and _plain(words[0].group(), g) and not g.is_proper_like(words[0].group()):
            words.pop(0)
        while len(words) > 1 and _plain(words[-1].group(), g) and not g.is_proper_like(words[-1].group()):
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
        if uncued and all(_plain(w, g, names_win=False) for w in words) and (
                score <= 0.65 or not all(g.is_known(w) for w in words)):
            continue
        found.append((start, end, score))
    found.extend(_database_names(text, g))
    not_people = [(s, e) for s, e, label in ents if label in _NOT_PEOPLE]
    places = [(s, e) for s, e, label in ents if label in _PLACES]
    for m in _WORD.finditer(text):  # "early Yefremova", "Usamov": a surname by its ending
        word = m.group()
        if (len(word) >= 5 and _cap(word) and _SURNAME_ENDING.search(word) and not g.is_plain(word)
                and not g.is_support(word) and not g.is_designator(word)
                and not any(s < m.end() and m.start() < e for s, e in places)):  # the model tags such names ORG
            found.append((m.start(), _trim_possessive(text, m.end()), 0.6))
    for m in _SUBJECT.finditer(text):
        prev = text[:m.start()].split()[-1:]
        if (not _subject_name(m, g) or (prev and prev[0].lower() in _DETERMINERS)
                or _UI.search(text[max(0, m.start() - 3):m.start()])
                or any(s < m.end(1) and m.start(1) < e for s, e in not_people)):
            continue  # "the Rose is", "Paris is lovely" (the model says GPE)
        found.append((m.start(1), _trim_possessive(text, m.end(1)), 0.6))
    found.extend(context_names(text, g, places))
    m = _VOCATIVE.match(text)
    if m and not all(_plain(w, g) for w in _WORD.findall(m.group(1))):
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
            words = _WORD.findall(m.group(1))
            # an ordinary word is a name here only when it is a known surname ("<PERSON> and Brown")
            # and not the first word of a sentence
            if all(_plain(w, g) for w in words) and not (
                    all(w.lower() in g.last for w in words) and not _sentence_initial(text, s)):
                continue
            e = _trim_possessive(text, e)
            seen.add((s, e))
            found.append((s, e, 0.7))
            queue.append((s, e, 0.7))
    return found
