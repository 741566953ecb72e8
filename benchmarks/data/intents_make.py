"""Writes intents.jsonl: intent-labelled customer-support questions for the few-shot benchmark.

    python benchmarks/data/intents_make.py

Hand-written phrasings for 8 intents, each varied with a few openers/closers (deterministic).
Every row: ``{"intent", "question", "answer", "split", "label"}``:

* ``split="store"``, ``label="good"``: past turns with the intent's correct answer (in the store);
* ``split="store"``, ``label="bad"``: past turns of the intent answered with *another* intent's
  answer (a wrong answer users flagged: thumbs down + correction), phrased like the queries;
* ``split="query"``: held-out questions to select examples for.

``pool`` (``--pool``) prints how many distinct texts the generator can produce: the scale
benchmark embeds such a pool and synthesises millions of stored vectors from it.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path

INTENTS: dict[str, tuple[str, list[str]]] = {
    "reset_password": (
        "Click 'Forgot password' on the sign-in page; the reset link is valid for one hour.",
        ["how do I reset my password", "I forgot my password", "I can't remember my password",
         "the password reset email never arrived", "how can I change my password", "my password doesn't work anymore",
         "I need a new password for my account", "where do I set a new password", "reset link expired, what now",
         "I'm locked out because I forgot the password", "can you send me a password reset link",
         "how to recover my account password"],
    ),
    "track_order": (
        "You can follow your parcel under Orders > Track; most deliveries arrive within 3-5 working days.",
        ["where is my order", "my package hasn't arrived yet", "can you track my parcel", "when will my order be delivered",
         "the delivery is late", "has my order shipped yet", "I'm still waiting for my package",
         "what's the status of my delivery", "the tracking number doesn't show anything",
         "my order says dispatched but nothing arrived", "how long does shipping take for my order",
         "is my parcel lost"],
    ),
    "refund": (
        "Refunds go back to the original payment method within 5-10 days once the return is received.",
        ["I want my money back", "how do I get a refund", "when will I receive my refund",
         "I returned the item but got no refund", "can I get a refund for a damaged product",
         "refund still not on my card", "please refund my last purchase", "how long do refunds take",
         "I was promised a refund weeks ago", "request a refund for a wrong item",
         "the refund amount is wrong", "do you refund shipping costs"],
    ),
    "cancel_subscription": (
        "Go to Settings > Subscription and choose Cancel; you keep access until the end of the period.",
        ["how do I cancel my subscription", "I want to stop my membership", "cancel my plan please",
         "how can I unsubscribe from the monthly plan", "stop charging me every month", "end my subscription",
         "I don't want to renew my plan", "how to turn off auto-renewal", "I'd like to close my premium membership",
         "cancel the free trial before it charges me", "where is the cancel button for my subscription",
         "terminate my contract"],
    ),
    "update_payment": (
        "Add or change your card under Settings > Billing > Payment methods, then set it as default.",
        ["how do I update my credit card", "my card expired, how do I change it", "change my payment method",
         "add a new card to my account", "the payment keeps failing, can I use another card",
         "how to switch from card to PayPal", "update billing details", "remove my old card",
         "where do I enter a new card number", "can I pay with a different card next month",
         "my bank card was replaced", "set a default payment method"],
    ),
    "change_address": (
        "Edit your delivery address under Account > Addresses; orders not yet shipped can be updated too.",
        ["how do I change my delivery address", "I moved, update my address", "wrong shipping address on my order",
         "can I send the order to a different address", "edit my home address", "update the address for deliveries",
         "my address changed last week", "fix a typo in my street name", "add a second shipping address",
         "deliver to my office instead", "how to change where my parcels go", "correct my postcode"],
    ),
    "opening_hours": (
        "Our stores are open Monday to Saturday 9:00-19:00 and Sunday 10:00-16:00; support chat is 24/7.",
        ["what are your opening hours", "are you open on Sunday", "when does the store close today",
         "what time do you open tomorrow", "are you open on public holidays", "store hours this weekend",
         "until when is customer service available", "is the shop open late on Thursday",
         "when can I call support", "what time does the branch open", "opening times please",
         "are you closed on Christmas"],
    ),
    "technical_issue": (
        "Update the app to the latest version and restart your phone; if it still fails, reinstall it.",
        ["the app keeps crashing", "the app won't open", "I get an error when I log in to the app",
         "the website is not loading", "the checkout page is frozen", "the app is very slow today",
         "I see a blank screen after the update", "notifications stopped working", "the app crashes on startup",
         "error 500 when I try to pay", "the page keeps refreshing", "the app logs me out all the time"],
    ),
}

OPENERS = ["", "Hi, ", "Hello! ", "Quick question: ", "Hey, ", "Excuse me, ", "Good morning, "]
CLOSERS = ["?", "? Thanks.", ", please help.", "? Thank you!", " - any idea?", "."]


def variants(phrase: str) -> list[str]:
    out = []
    for opener, closer in itertools.product(OPENERS, CLOSERS):
        text = phrase[0].upper() + phrase[1:] if not opener else phrase
        out.append(f"{opener}{text}{closer}")
    return out


def pool() -> list[tuple[str, str]]:
    """(intent, text) for every phrasing x opener x closer: the scale benchmark's text pool."""
    return [(intent, v) for intent, (_, phrases) in INTENTS.items() for p in phrases for v in variants(p)]


def main() -> None:
    rng = random.Random(7)
    intents = list(INTENTS)
    rows = []
    for n, intent in enumerate(intents):
        answer, phrases = INTENTS[intent]
        phrases = phrases[:]
        rng.shuffle(phrases)
        query_phrases, store_phrases = phrases[:4], phrases[4:]
        for p in store_phrases:  # 8 phrasings x 5 variants each = 40 good past turns per intent
            for v in rng.sample(variants(p), 5):
                rows.append({"intent": intent, "question": v, "answer": answer, "split": "store", "label": "good"})
        for p in query_phrases:  # held-out phrasings: 4 x 3 = 12 queries per intent
            vs = rng.sample(variants(p), 5)
            for v in vs[:3]:
                rows.append({"intent": intent, "question": v, "answer": answer, "split": "query", "label": None})
            # the same held-out phrasing answered wrongly in the past: what a reward filter must skip
            wrong = INTENTS[intents[(n + 1 + rng.randrange(len(intents) - 1)) % len(intents)]][0]
            for v in vs[3:]:
                rows.append({"intent": intent, "question": v, "answer": wrong, "split": "store", "label": "bad"})
    out = Path(__file__).with_name("intents.jsonl")
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {len(rows)} rows to {out}")


if __name__ == "__main__":
    if "--pool" in sys.argv:
        print(len(pool()))
    else:
        main()
