"""Phone numbers in national formats that phonenumbers' matcher misses without the right region.

Presidio's ``PhoneRecognizer`` runs phonenumbers' matcher for a few regions only (each region is a
full pass). Numbers written the way another country writes them ("0494 92 82 32", "(37) 788-063",
"mobile: 99 577450") are found here instead: digit groups that are a phone number by their shape
and phonenumbers' numbering plans, or by a phone word next to them.
"""

from __future__ import annotations

import functools
import re

__all__ = ["after_identifier_word", "find_national_phones", "with_extensions"]


_DIGIT_GROUPS = re.compile(r"(?<![\w+\-./,])\(?\d{1,8}\)?(?:[ \t.\-/]\(?\d{1,8}\)?){1,5}"
                           r"(?!(?![xX]\d|[eE]xt)[\w\-]|[.,/]\d)")  # "…1234x56" ends before its extension
#: Words for a phone line or a way of using one ("messages to", "answering at", "Mobile:").
_PHONE_WORD = (r"\b(?:call(?:s|ed|ing)?|phon(?:e|es|ed|ing)|tel|telephone|mobile|cell|cellphone|text(?:s|ed|ing)?"
               r"|messag(?:e|es|ed|ing)|sms|dial(?:l?ed|l?ing)?|fax|whatsapp|viber|ring|answer(?:s|ed|ing)?|voicemail"
               r"|hotline|helpline|landline|pager|cellular|callback|(?:direct|phone|support|help|land)[ \t-]?line"
               r"|handy|tlf|tel\.)")
_PHONE_CUE_BEFORE = re.compile(rf"(?:{_PHONE_WORD}|\b(?:reach(?:ed)?|desk|office|number|contact))\b[^\n\d]{{0,25}}$",
                               re.IGNORECASE)
#: Only the phone words (not "number", "contact", "office"): enough for a short or unseparated number.
_PHONE_WORD_BEFORE = re.compile(rf"{_PHONE_WORD}\b[^\n\d]{{0,25}}$", re.IGNORECASE)
#: A number written without separators ("0598384330 fax", "mobile 00823841297").
_BARE_DIGITS = re.compile(r"(?<![\w+\-./,])\d{8,15}(?![\w\-]|[.,/]\d)")
_PHONE_CUE_AFTER = re.compile(r"^[ \t:(\-]*(?:office|fax|mobile|cell|home|work|desk|landline|direct)\b", re.IGNORECASE)
_DATE_LIKE = re.compile(r"^\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}$|^\d{1,2}[ \t]\d{1,2}[ \t](?:19|20)\d\d$"
                        r"|^(?:19|20)\d\d[ \t](?:0?[1-9]|1[0-2])[ \t](?:0?[1-9]|[12]\d|3[01])$")  # "2019 10 15"
_MONEY_BEFORE = re.compile(r"[$€£¥₹]\s*$|\b(?:usd|eur|gbp|chf|inr|jpy|sek|nok|dkk|pln|rs|kr)\.?\s*$", re.IGNORECASE)
_MONEY_AFTER = re.compile(r"^\s*(?:[$€£¥₹]|(?:usd|eur|gbp|chf|inr|jpy|sek|nok|dkk|pln|kr|euros?|dollars?|pounds?"
                          r"|rupees?|yen|units|items|pcs|km|kg|people|users|rows|records|bytes|mb|gb)\b)", re.IGNORECASE)
_YEAR_RANGE = re.compile(r"^(?:19|20)\d\d[ \t]*[\-/][ \t]*(?:(?:19|20)\d\d|\d\d)$")
#: Regions tried first when deciding whether an uncued digit-group shape is a phone number
#: (then every other region phonenumbers knows: a shape valid nowhere is not a number).
_PLAN_REGIONS: tuple[str, ...] = (
    "US", "GB", "IE", "DE", "AT", "CH", "FR", "BE", "NL", "LU", "IT", "ES", "PT", "DK", "NO", "SE", "FI", "IS",
    "PL", "CZ", "SK", "HU", "SI", "HR", "RS", "BA", "RO", "BG", "GR", "TR", "RU", "UA", "EE", "LV", "LT",
    "IN", "PK", "BD", "LK", "CN", "HK", "TW", "JP", "KR", "SG", "MY", "TH", "VN", "PH", "ID", "AU", "NZ",
    "ZA", "NG", "KE", "EG", "MA", "TN", "AE", "SA", "IL", "BR", "AR", "MX", "CL", "CO", "PE", "CA",
)
_ALL_REGIONS: list[str] = []


def _regions() -> list[str]:
    if not _ALL_REGIONS:
        import phonenumbers

        _ALL_REGIONS.extend(_PLAN_REGIONS + tuple(sorted(set(phonenumbers.SUPPORTED_REGIONS) - set(_PLAN_REGIONS))))
    return _ALL_REGIONS


@functools.lru_cache(maxsize=4096)
def _valid_somewhere(value: str) -> bool:
    """Whether ``value`` (national format) is a valid number in some region (phonenumbers'
    numbering plans: leading digits and lengths per region)."""
    import phonenumbers

    for region in _regions():
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(value, region)):
                return True
        except phonenumbers.NumberParseException:
            return False
    return False


_EXTENSION = re.compile(r"[ \t]*,?[ \t]*(?:x|ext\.?|extn\.?|extension|#)[ \t]*\d{1,6}(?![\w\-])", re.IGNORECASE)


def with_extensions(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Phone spans stretched over the extension written after them ("… 456 x204", "… ext. 12")."""
    out = []
    for start, end in spans:
        m = _EXTENSION.match(text, end)
        out.append((start, m.end() if m else end))
    return out


def find_national_phones(text: str) -> list[tuple[int, int, float]]:
    """Digit groups that are phone numbers by shape or context, in any national format.

    * after a phone word or before a phone label: 7-15 digits in groups ("call me on 9472 7916",
      "Mobile: 432 03 163", "mobile: 99 577450", "28-64-66-98 office", "messages to 327 6915");
      six digits in groups or 8-15 digits without separators only after a phone word proper
      ("answering at 66 28 45", "0598384330 fax"), not after "number" or "contact";
    * by shape alone: four or more groups of 2-4 digits ("0494 92 82 32", "71-33-52-22"); a
      trunk "0" or a bracketed area code ("079 2718 1155", "(37) 788-063") and a number valid
      under some region's numbering plan; three groups of 2-4 digits, 8-11 digits, valid
      somewhere ("432 03 163").

    Left alone: dates ("12/03/2024", "12 03 2024"), year ranges, decimals and versions, money and
    counts ("1 250 000 EUR", "$ 12 500"), digit groups inside longer tokens."""
    out = _bare_cued(text)
    for m in _DIGIT_GROUPS.finditer(text):
        value = m.group()
        groups = re.findall(r"\d+", value)
        digits = sum(len(g) for g in groups)
        if not 6 <= digits <= 15 or _DATE_LIKE.match(value) or _YEAR_RANGE.match(value):
            continue
        before, after = text[max(0, m.start() - 40):m.start()], text[m.end():m.end() + 20]
        if digits == 6:  # six digits in groups ("66 28 45": Greenland, the Faroes) after a phone word or label
            if _PHONE_WORD_BEFORE.search(before) or _PHONE_CUE_AFTER.match(after) or _uncued_pairs(value, before, after):
                out.append((m.start(), m.end(), 0.55))
            continue
        seps = set(re.findall(r"[ \t.\-/]+", value))
        cued = bool(_PHONE_CUE_BEFORE.search(before) or _PHONE_CUE_AFTER.match(after) or _EXTENSION.match(text, m.end()))
        dotted = "." in "".join(seps)
        if dotted and len(groups) <= 3 and not (
                (cued and (digits >= 8 or min(map(len, groups)) >= 3)) or (groups[0].startswith("0") and min(map(len, groups)) >= 2 and 9 <= digits <= 12
                                           and _valid_somewhere(value))):
            continue  # 3.2.1 versions, 10.0.0 decimals; "02.234.5678" (a trunk 0, valid) is a number
        if not cued and (_MONEY_BEFORE.search(before) or _MONEY_AFTER.match(after)):
            continue
        one_sep = len(seps) == 1
        if cued and (len(groups) >= 2 or digits >= 8):
            out.append((m.start(), m.end(), 0.55))
            continue
        if len(groups) < 2:
            continue
        trunk = groups[0].startswith("0") and 9 <= digits <= 12
        bracket = value.startswith("(") and 7 <= digits <= 12 and (len(groups[0]) >= 2 or len(groups) >= 3)  # "(1) 824-7680"
        if _uncued_short(value, groups, seps, before):
            out.append((m.start(), m.end(), 0.5))
            continue
        if max(len(g) for g in groups) > 5:
            # "(010) 123456", "0341 8387176": an area code, then the subscriber number in one group
            if (trunk or bracket) and len(groups) == 2 and _valid_somewhere(value):
                out.append((m.start(), m.end(), 0.5))
            continue
        pairs_only = len(groups) >= 5 and all(len(g) == 2 for g in groups) and not groups[0].startswith("0")
        if (len(groups) >= 4 and all(2 <= len(g) <= 4 for g in groups[1:]) and one_sep and not pairs_only
                and (groups[0].startswith("0") or digits == 8 or _valid_somewhere(value))):  # not "12 14 18 21 25"
            out.append((m.start(), m.end(), 0.6))
            continue
        thousands = all(len(g) == 3 for g in groups[1:]) and len(groups[0]) <= 3
        three = len(groups) == 3 and 8 <= digits <= 11 and all(2 <= len(g) <= 4 for g in groups) and one_sep
        if (trunk or bracket or (three and not thousands)) and _valid_somewhere(value):
            out.append((m.start(), m.end(), 0.5))
    return out


def _bare_cued(text: str) -> list[tuple[int, int, float]]:
    """8-15 digits without separators, right after a phone word or before a line label ("fax"), or
    with a trunk "0" or an international "00" prefix ("0598384330", "00823841297") by themselves."""
    out: list[tuple[int, int, float]] = []
    for m in _BARE_DIGITS.finditer(text):
        before, after = text[max(0, m.start() - 40):m.start()], text[m.end():m.end() + 20]
        if (_PHONE_WORD_BEFORE.search(before) or _PHONE_CUE_AFTER.match(after) or _EXTENSION.match(text, m.end())
                or _uncued_bare(m.group(), before, after)):
            out.append((m.start(), m.end(), 0.55))
    return out


#: Words after which digits are an identifier, not a phone ("order 473 6400", "account 0012 3456").
_REFERENCE_BEFORE = re.compile(
    r"(?:\b(?:order|invoice|ref|reference|ticket|account|acct|item|sku|id|case|booking|confirmation|tracking"
    r"|serial|policy|member|membership|page|room|flight|route|zip|postcode|postal code|pin"
    r"|version|build|model|part|product|batch|lot|receipt|transaction|claim|no|nr)\b|#)"
    r"[ \t.:#\-]*(?:(?:no|nr|number|num|id)\b[ \t.:#\-]*)?$", re.IGNORECASE)
#: A year pair ("2019 2020"), a time ("10 30 45" is left to the date check), a pair of ages.
_YEAR_PAIR = re.compile(r"^(?:19|20)\d\d[ \t\-](?:19|20)\d\d$")


def after_identifier_word(text: str, start: int) -> bool:
    """Whether the digits at ``start`` follow an identifier word ("invoice 2023-000123", "order no. 4711")."""
    return bool(_REFERENCE_BEFORE.search(text[max(0, start - 40):start]))


def _uncued_short(value: str, groups: list[str], seps: set[str], before: str) -> bool:
    """A phone by its grouping alone, with no phone word anywhere near ("You can get me at 473 6400").

    Local and national numbers as people write them: two groups (3+4 "473 6400", 2+6 "22 456311",
    4+4 "9472 7916", 3-4 + 4-8 digits), or three groups of 2-4 digits, 7-11 digits in all
    ("315 219 361", "77 385 106", "221 12 34"); one kind of separator (space or hyphen), the number
    valid under some region's numbering plan, and no identifier word just before it (3+2+4 is an SSN's shape)."""
    if len(seps) != 1 or seps.pop() not in (" ", "-") or value.startswith("("):
        return False
    digits = sum(map(len, groups))
    if not 7 <= digits <= 11 or len(groups[0]) < 2 or _YEAR_PAIR.match(value) or list(map(len, groups)) == [3, 2, 4]:
        return False
    if re.fullmatch(r"(?:19|20)\d\d", groups[0]) or (len(groups) == 3 and groups[-1] == "000"):
        return False  # "2023-000123" (a year-numbered id), "12 500 000" (a count)
    if len(groups) == 2:
        shaped = len(groups[0]) <= 4 and 4 <= len(groups[1]) <= 8
    else:
        shaped = len(groups) == 3 and all(2 <= len(g) <= 4 for g in groups)
    return shaped and not _REFERENCE_BEFORE.search(before) and _valid_somewhere(value)


def _uncued_pairs(value: str, before: str, after: str) -> bool:
    """Three pairs of digits with one space or hyphen kind ("33 66 18": Greenland, the Faroes) that are
    no date ("12 03 24"), valid somewhere, and follow no identifier word."""
    m = re.fullmatch(r"(\d\d)([ \-])(\d\d)\2(\d\d)", value)
    if not m or _REFERENCE_BEFORE.search(before) or _MONEY_AFTER.match(after):
        return False
    a, b = int(m.group(1)), int(m.group(3))
    if (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31) or a <= 23 and b <= 59:
        return False  # a date either way round, or a time ("10 30 45")
    return _valid_somewhere(value)


def _uncued_bare(value: str, before: str, after: str) -> bool:
    """Digits without separators that only a phone starts with: an international "00" prefix
    (11-15 digits) or a trunk "0" and 10-11 digits valid somewhere ("0598384330")."""
    if _REFERENCE_BEFORE.search(before) or _MONEY_AFTER.match(after) or value.startswith("000"):
        return False
    if value.startswith("00"):
        return 11 <= len(value) <= 15
    return value.startswith("0") and 10 <= len(value) <= 11 and _valid_somewhere(value)

