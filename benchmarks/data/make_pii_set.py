"""Generate the labeled PII regression set (a guard for the tests; never a reported figure).

Sentences are templates filled with Faker values, seeded, so every run produces the same set. Each
record is ``{"text", "spans": [{"start", "end", "type"}], "group"}``, where ``group`` is the
entity type the sentence was written for, ``"PERSON_OOV"`` for names from a second group of
Faker locales (kept for continuity; the redactor's names database is names-dataset, not Faker), or
``"CLEAN"`` for realistic PII-free support-chat sentences (to measure false positives).

    python benchmarks/data/make_pii_set.py --out benchmarks/data/pii_set.jsonl
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import re
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]

#: Locales of the in-vocabulary names of the old Faker gazetteer (no longer shipped).
GAZETTEER_LOCALES = ("en_US", "en_GB", "en_IE", "en_NZ", "en_IN", "es_ES", "es_MX", "fr_FR", "de_DE",
                     "it_IT", "pt_BR", "pt_PT", "nl_NL")
#: Locales of the PERSON_OOV group.
OOV_LOCALES = ("pl_PL", "sv_SE", "fi_FI", "cs_CZ", "tr_TR", "hu_HU")
#: Locales used for in-vocabulary names in the set (weights favour en_US like real traffic).
NAME_LOCALES = (("en_US", 6), ("en_GB", 2), ("en_IN", 1), ("es_ES", 1), ("de_DE", 1), ("fr_FR", 1), ("it_IT", 1))

# --------------------------------------------------------------------------------------------
# templates: {EMAIL}, {PHONE}, {CARD}, {IBAN}, {SSN}, {IP}, {NAME}, {FIRST}, {LAST}, {name}
# (lower-case full name), {ADDRESS} (one-line street address), {ADDRESS_FULL} (with city/zip)
# --------------------------------------------------------------------------------------------
TEMPLATES: dict[str, list[str]] = {
    "EMAIL_ADDRESS": [
        "You can reach me at {EMAIL}.", "my email is {EMAIL}", "Please send the invoice to {EMAIL} asap",
        "{EMAIL}", "I changed my login email to {EMAIL} last week, but the receipts still go to the old one.",
        "Can you update the account contact to {EMAIL}?", "email: {EMAIL}", "cc {EMAIL} on the reply please",
        "I never got the reset link at {EMAIL}", "Is {EMAIL} the address you have on file?",
        "Send it to <{EMAIL}>", "The user {EMAIL} reported a crash in the export dialog.",
    ],
    "PHONE_NUMBER": [
        "Call me at {PHONE}.", "my number is {PHONE}", "You can text {PHONE} any time after 5pm.",
        "Phone: {PHONE}", "Please have someone call {PHONE} about the refund.",
        "The delivery driver tried {PHONE} but nobody answered.", "{PHONE}",
        "Could you update my mobile to {PHONE}?", "reach our office on {PHONE} during business hours",
        "I tried calling {PHONE} three times and got voicemail.",
    ],
    "CREDIT_CARD": [
        "My card number is {CARD}.", "I paid with {CARD} and was charged twice.", "card: {CARD}",
        "Please refund the charge on {CARD}", "Use {CARD} for the renewal.",
        "The payment with card {CARD} was declined", "{CARD}", "Can you remove {CARD} from my wallet?",
    ],
    "IBAN_CODE": [
        "My IBAN is {IBAN}.", "Please wire the refund to {IBAN}", "IBAN: {IBAN}",
        "The transfer to {IBAN} bounced.", "{IBAN}", "Use account {IBAN} for the direct debit.",
        "I updated the payout account to {IBAN} yesterday",
    ],
    "US_SSN": [
        "My SSN is {SSN}.", "social security number {SSN}", "SSN: {SSN}", "The form asks for {SSN} again",
        "I entered {SSN} in the tax section but it was rejected.", "{SSN}",
        "Please verify the applicant with social security {SSN}",
    ],
    "IP_ADDRESS": [
        "The requests come from {IP}.", "Please whitelist {IP} on the firewall", "ip: {IP}",
        "I can't connect to the server at {IP}", "{IP}", "We saw 500 errors from {IP} around noon.",
        "Is {IP} blocked on your side?", "ssh into {IP} and restart the service",
    ],
    "PERSON": [
        "Hi, my name is {NAME} and I can't log in.", "This is {NAME} from the billing team.",
        "I'm {FIRST}, the account owner.", "Dear {NAME}, thanks for reaching out.",
        "Thanks {FIRST}, that fixed it!", "Can I speak with {NAME}?", "Please call {NAME} tomorrow.",
        "{NAME} opened the ticket yesterday.", "Ask {NAME} about the refund.",
        "Mr. {LAST} asked for an update.", "Dr. {NAME} will review the claim.",
        "The package was signed for by {NAME}.", "Regards,\n{NAME}", "Best,\n{FIRST}",
        "I spoke to {FIRST} on the phone and she said it would be fixed.",
        "My manager {NAME} approved the purchase.", "hi my name is {name} and my order is late",
        "Customer: {NAME}", "Name: {NAME}", "{FIRST} said the app crashes when uploading photos.",
        "Forward this to {NAME} please.", "I'm writing on behalf of {NAME}.",
        "Account holder {NAME} requested a password reset.", "Hello {FIRST}, how can I help you today?",
        "Is {FIRST} available?", "Ms. {NAME} called about her subscription.",
        "Please contact {NAME} for access.", "The order is under the name {NAME}.",
        "I was helped by {FIRST} yesterday and she was great.", "{NAME} and I share the account.",
        "Thanks for your help, {FIRST}.", "Our admin is {NAME}, she can approve it.",
    ],
    "STREET_ADDRESS": [
        "Please ship it to {ADDRESS}.", "My address is {ADDRESS_FULL}", "I moved to {ADDRESS} last month.",
        "Deliver to {ADDRESS_FULL}", "The package went to {ADDRESS} instead of my new place.",
        "billing address: {ADDRESS_FULL}", "{ADDRESS_FULL}", "Can you change the shipping address to {ADDRESS}?",
        "Our office is at {ADDRESS}, on the second floor.", "I live at {ADDRESS}",
    ],
}
TEMPLATES["PERSON_OOV"] = TEMPLATES["PERSON"]

CLEAN_TEMPLATES = [
    "My order #{ORDER} hasn't arrived yet.", "I'm on version {VERSION} and the app keeps crashing.",
    "Error code {CODE} when I click Save.", "The meeting is on {DAY} at {HOUR}:00.",
    "Please reset my password.", "I use {PRODUCT} for work and the sync is slow.",
    "Can you explain the difference between the Basic and Pro plans?", "The invoice total was ${AMOUNT}.",
    "It worked yesterday but today it says Access Denied.", "How do I export my data to CSV?",
    "I was charged {AMOUNT} EUR instead of {AMOUNT2} EUR.", "Tracking number {TRACKING} shows no updates.",
    "The report for Q{Q} {YEAR} is missing two rows.", "Thanks, that fixed it!", "That's not right, try again.",
    "I'm happy with the new dashboard.", "This is urgent, the whole team is blocked.",
    "Dear Support, the upload fails for files over {SIZE} MB.", "Hello, how can I help you today?",
    "Is the API rate limit {LIMIT} requests per minute?", "I restarted the router and it still drops every {MIN} minutes.",
    "Best regards, the Operations Team", "Could you call me back tomorrow morning?",
    "My name is on the account but I can't see the billing tab.", "Ticket {TICKET} was closed without a reply.",
    "The build failed at step {STEP} of {STEPS}.", "Please cancel my subscription at the end of {MONTH}.",
    "We have {SEATS} seats but only {USED} are in use.", "The file is {SIZE}.{MIN} MB, is that too big?",
    "Contact Support if the problem persists.", "Our office moved to the second floor.",
    "The temperature sensor reads {CODE} on the main street entrance.", "Deploy v{VERSION} to staging first.",
    "Your refund of ${AMOUNT} will arrive within {MIN} business days.", "I'm using Chrome {MAJOR} on Windows 11.",
    "The SKU {SKU} is out of stock.", "Order {ORDER} was split into {USED} shipments.",
    "Can you check why invoice INV-{ORDER} shows twice?", "Room {ROOM} on level {STEP} has no projector.",
    "It happened on {DATE} around {HOUR}:{MIN2}.", "The queue had {ORDER} messages at peak.",
    "Grace period ends on {DAY}.", "Will you support dark mode soon?", "May I ask why my account was locked?",
    "Mark the ticket as resolved please.", "Park Avenue Pharmacy is our customer, not a person.",
    "We ship from Main Street Logistics in {YEAR}.", "Summer sale starts on {DAY}.",
    "I'm sorry, I didn't mean to cancel.", "This is Microsoft Teams integration feedback.",
    "Thank you! Your help was great.", "Hi team, quick question about the {PRODUCT} plugin.",
    "The model returned {AMOUNT} tokens per second.", "Latency p99 is {LIMIT} ms at {SEATS} rps.",
    "Set the timeout to {LIMIT} seconds and retry {STEP} times.", "Chapter {STEP}, page {LIMIT} has a typo.",
    # harder ones: capitalised words, company and place names, numbers near street-like words
    "Please send it to the Sales Team by {DAY}.", "Hi Team, the deploy to production is done.",
    "Thanks, Support!", "Dear Customer, your order #{ORDER} has shipped.", "Hello World example fails to compile.",
    "Go to Settings > Privacy and turn off Location Services.", "The Apple Watch won't pair with my phone.",
    "Chase Bank declined the payment of ${AMOUNT}.", "Our Paris office is closed on {DAY}.",
    "Victoria Station is near the office.", "Morgan Stanley sent the quarterly statement.",
    "We have {STEP} Key Points to discuss on {DAY}.", "Upgrade to Windows 11 before installing {PRODUCT}.",
    "I'm Running the {PRODUCT} connector on {SEATS} machines.", "Call Center hours are {HOUR} to 17.",
    "The Grand Canyon tour on {DATE} was cancelled.", "The Jordan sneakers in size {STEP} are out of stock.",
    "We met at Central Park and discussed the {PRODUCT} rollout.", "Wells Fargo flagged transaction {TICKET}.",
    "The New York team owns the {PRODUCT} integration.", "Amazon Web Services bills us ${AMOUNT} a month.",
    "Can I ask Support to extend the trial by {STEP} days?", "Spoke to Billing, they said {MIN} days.",
    "Error {CODE} on Page {STEP} of the Checkout Flow.", "Release {VERSION} Ships {STEP} New Features.",
]

PRODUCTS = ["Slack", "Microsoft Teams", "Google Drive", "Dropbox", "Jira", "Salesforce", "Notion", "Zoom",
            "Excel", "Outlook", "GitHub", "Figma", "Trello", "Asana", "HubSpot"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def _locale_names(locale: str) -> tuple[list[str], list[str]]:
    mod = importlib.import_module(f"faker.providers.person.{locale}")
    p = mod.Provider
    first: list[str] = []
    for attr in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
        first.extend(list(getattr(p, attr, ()) or ()))
    last = list(getattr(p, "last_names", ()) or ())
    return first, last


def _faker(locale: str, seed: int) -> Any:
    from faker import Faker

    f = Faker(locale)
    f.seed_instance(seed)
    return f


class _Gen:
    """Fills templates, recording the character spans of every inserted value."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.us = _faker("en_US", seed)
        self.fakers = {loc: _faker(loc, seed + i) for i, (loc, _) in enumerate(NAME_LOCALES)}
        self.oov = [_faker(loc, seed + 100 + i) for i, loc in enumerate(OOV_LOCALES)]
        self.iban_fakers = [_faker(loc, seed + 200 + i) for i, loc in
                            enumerate(("en_GB", "de_DE", "fr_FR", "es_ES", "nl_NL", "it_IT"))]

    def _person(self, oov: bool) -> tuple[str, str]:
        if oov:
            f = self.rng.choice(self.oov)
        else:
            locs = [loc for loc, w in NAME_LOCALES for _ in range(w)]
            f = self.fakers[self.rng.choice(locs)]
        return f.first_name(), f.last_name()

    def _phone(self) -> str:
        r = self.rng.random()
        if r < 0.5:
            return self.us.phone_number()
        d = [str(self.rng.randint(0, 9)) for _ in range(10)]
        d[0] = str(self.rng.randint(2, 9))
        d[3] = str(self.rng.randint(2, 9))
        a, b, c = "".join(d[:3]), "".join(d[3:6]), "".join(d[6:])
        return self.rng.choice([f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}",
                                f"+1-{a}-{b}-{c}", f"+44 20 {b[:3]}{c[0]} {c[1:]}{d[0]}", f"+49 30 {b}{c}"])

    def _card(self) -> str:
        num = self.us.credit_card_number()
        if self.rng.random() < 0.4 and len(num) == 16:
            sep = self.rng.choice([" ", "-"])
            num = sep.join(num[i:i + 4] for i in range(0, 16, 4))
        return num

    def _iban(self) -> str:
        iban = self.rng.choice(self.iban_fakers).iban()
        if self.rng.random() < 0.4:
            iban = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
        return iban

    def _ip(self) -> str:
        return self.us.ipv4() if self.rng.random() < 0.75 else self.us.ipv6()

    def _address(self, full: bool) -> str:
        street = self.us.street_address()
        if not full:
            return street
        sep = self.rng.choice([", ", "\n"])
        return f"{street}{sep}{self.us.city()}, {self.us.state_abbr()} {self.us.postcode()}"

    def value(self, slot: str, person: tuple[str, str]) -> tuple[str, str | None]:
        """(text, entity type or None) for one template slot."""
        first, last = person
        makers: dict[str, Callable[[], tuple[str, str | None]]] = {
            "EMAIL": lambda: (self.us.email(), "EMAIL_ADDRESS"),
            "PHONE": lambda: (self._phone(), "PHONE_NUMBER"),
            "CARD": lambda: (self._card(), "CREDIT_CARD"),
            "IBAN": lambda: (self._iban(), "IBAN_CODE"),
            "SSN": lambda: (self.us.ssn(), "US_SSN"),
            "IP": lambda: (self._ip(), "IP_ADDRESS"),
            "NAME": lambda: (f"{first} {last}", "PERSON"),
            "name": lambda: (f"{first} {last}".lower(), "PERSON"),
            "FIRST": lambda: (first, "PERSON"),
            "LAST": lambda: (last, "PERSON"),
            "ADDRESS": lambda: (self._address(False), "STREET_ADDRESS"),
            "ADDRESS_FULL": lambda: (self._address(True), "STREET_ADDRESS"),
            "ORDER": lambda: (str(self.rng.randint(1000, 999999)), None),
            "VERSION": lambda: (f"{self.rng.randint(1, 12)}.{self.rng.randint(0, 20)}.{self.rng.randint(0, 9)}", None),
            "CODE": lambda: (str(self.rng.choice([400, 401, 403, 404, 409, 429, 500, 502, 503])), None),
            "DAY": lambda: (self.rng.choice(DAYS), None),
            "HOUR": lambda: (str(self.rng.randint(8, 18)), None),
            "PRODUCT": lambda: (self.rng.choice(PRODUCTS), None),
            "AMOUNT": lambda: (f"{self.rng.randint(5, 4999)}.{self.rng.randint(0, 99):02d}", None),
            "AMOUNT2": lambda: (f"{self.rng.randint(5, 4999)}.{self.rng.randint(0, 99):02d}", None),
            "TRACKING": lambda: ("1Z" + "".join(self.rng.choice("0123456789ABCDEF") for _ in range(16)), None),
            "Q": lambda: (str(self.rng.randint(1, 4)), None),
            "YEAR": lambda: (str(self.rng.randint(2015, 2026)), None),
            "SIZE": lambda: (str(self.rng.choice([10, 25, 50, 100, 250, 500])), None),
            "LIMIT": lambda: (str(self.rng.choice([60, 100, 120, 600, 1000, 3600])), None),
            "MIN": lambda: (str(self.rng.randint(2, 59)), None),
            "MIN2": lambda: (f"{self.rng.randint(0, 59):02d}", None),
            "TICKET": lambda: (f"#{self.rng.randint(10000, 99999)}", None),
            "STEP": lambda: (str(self.rng.randint(1, 9)), None),
            "STEPS": lambda: (str(self.rng.randint(10, 20)), None),
            "MONTH": lambda: (self.rng.choice(MONTHS), None),
            "SEATS": lambda: (str(self.rng.randint(10, 500)), None),
            "USED": lambda: (str(self.rng.randint(2, 9)), None),
            "MAJOR": lambda: (str(self.rng.randint(100, 130)), None),
            "SKU": lambda: (f"SKU-{self.rng.randint(1000, 9999)}-{self.rng.choice('ABCXYZ')}", None),
            "ROOM": lambda: (str(self.rng.randint(100, 999)), None),
            "DATE": lambda: (f"{self.rng.randint(2020, 2026)}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}", None),
        }
        return makers[slot]()

    def fill(self, template: str, oov: bool = False) -> dict[str, Any]:
        person = self._person(oov)
        out: list[str] = []
        spans: list[dict[str, Any]] = []
        pos = 0
        for m in re.finditer(r"\{(\w+)\}", template):
            out.append(template[pos:m.start()])
            start = sum(len(s) for s in out)
            text, etype = self.value(m.group(1), person)
            out.append(text)
            if etype:
                spans.append({"start": start, "end": start + len(text), "type": etype})
            pos = m.end()
        out.append(template[pos:])
        return {"text": "".join(out), "spans": spans}


def make_set(n_per_type: int = 400, n_clean: int = 1000, seed: int = 7) -> list[dict[str, Any]]:
    """The labeled set: ``n_per_type`` sentences per entity group plus ``n_clean`` PII-free ones."""
    gen = _Gen(seed)
    records: list[dict[str, Any]] = []
    for group, templates in TEMPLATES.items():
        for i in range(n_per_type):
            rec = gen.fill(templates[i % len(templates)], oov=group == "PERSON_OOV")
            rec["group"] = group
            records.append(rec)
    for i in range(n_clean):
        rec = gen.fill(CLEAN_TEMPLATES[i % len(CLEAN_TEMPLATES)])
        rec["group"] = "CLEAN"
        records.append(rec)
    return records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="write the set as JSONL here")
    ap.add_argument("--n", type=int, default=400, help="sentences per entity group")
    ap.add_argument("--clean", type=int, default=1000, help="PII-free sentences")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    records = make_set(args.n, args.clean, args.seed)
    if args.out:
        with args.out.open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        print(f"wrote {len(records)} records to {args.out}")
    else:
        for rec in records[:: max(1, len(records) // 20)]:
            print(rec["group"], repr(rec["text"]))


if __name__ == "__main__":
    main()
