"""The simulated world of ``flywheel demo``: a support domain, a deterministic model, and users.

- Six support intents, each with eight phrasings (six for traffic, two held out for evaluation)
  and one correct answer.
- ``SupportModel``: a LangChain chat model that understands every question but only *knows* the
  answers of some intents; for the others it guesses right now and then (deterministically) and
  otherwise answers something plausible and wrong. When the prompt carries a good past example of
  the same intent (dynamic few-shot), it follows the example: that is the effect the flywheel's
  fastest loop has on a real model, made visible and repeatable.
- ``SimulatedUser``: copies, thumbs and rates good answers; rephrases, corrects, thumbs down,
  asks for a human or stops the agent after bad ones.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from ._extras import requires_extra

with requires_extra("langchain", "the demo"):
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.tools import tool


@dataclass(frozen=True)
class Intent:
    name: str
    answer: str
    key: str  # the phrase a correct answer must contain
    keywords: tuple[str, ...]
    questions: tuple[str, ...]
    known: bool  # does the base model know the answer?
    wrong: str  # its confident wrong answer
    tool: str | None = None

    @property
    def traffic_questions(self) -> tuple[str, ...]:
        return self.questions[:6]

    @property
    def eval_questions(self) -> tuple[str, ...]:
        return self.questions[6:]


INTENTS: tuple[Intent, ...] = (
    Intent("reset_password", "Go to Settings > Security > Reset password; we email you a link valid for 24 hours.",
           "reset password", ("password", "log in", "login", "locked out"),
           ("How do I reset my password?", "I forgot my password, what should I do?", "I can't log in, I need a new password",
            "Where can I change my password?", "password reset please", "I'm locked out of my account, how do I get back in?",
            "How can I recover my account password?", "help me reset the password on my account"),
           known=True, wrong="Passwords cannot be changed once the account exists."),
    Intent("refund", "Refunds go back to your original payment method within 5 business days after we receive the item.",
           "5 business days", ("refund", "money back", "reimburse"),
           ("How long does a refund take?", "When will I get my money back?", "I sent the item back, when is my refund?",
            "What is the refund timeline?", "How many days until my refund arrives?", "Is there a delay before refunds are paid?",
            "When do returned items get refunded?", "how fast will I be reimbursed for a return"),
           known=False, wrong="Refunds take about 30 days and are paid as store credit."),
    Intent("track_order", "Your order is in transit and arrives on Friday.", "arrives on friday",
           ("track", "package", "parcel", "shipped", "arrive", "delivery status", "shipment"),
           ("Where is my package?", "Can you track my parcel please?", "Has my order shipped yet?",
            "When will my parcel arrive?", "What's the delivery status of my shipment?", "my package hasn't arrived, where is it",
            "can you check on my shipment", "track my order for me"),
           known=False, wrong="Orders usually arrive within two to three weeks.", tool="track_order"),
    Intent("change_address", "Open Orders > Edit address; you can change it until the order ships.", "edit address",
           ("address", "moved", "to a different", "different place"),
           ("Can I change my delivery address?", "I moved, how do I update my shipping address?", "update the address on my order",
            "There's a wrong address on my order, can I fix it?", "How do I edit the shipping address?",
            "I need it shipped to a different place", "new address for my delivery", "I want to ship to a different location"),
           known=False, wrong="Addresses can only be changed by calling the warehouse."),
    Intent("cancel_subscription", "Go to Billing > Plan > Cancel; you keep access until the end of the paid period.",
           "billing > plan > cancel", ("cancel", "subscription", "membership", "stop paying"),
           ("How do I cancel my subscription?", "I want to stop paying for the membership", "cancel my plan please",
            "How can I end my subscription?", "Where do I cancel my membership?", "stop my subscription from renewing",
            "I'd like to terminate my subscription", "how to cancel the monthly plan"),
           known=True, wrong="Subscriptions cannot be cancelled during the first year."),
    Intent("invoice", "Invoices are under Billing > Invoices; click Download PDF next to any order.", "download pdf",
           ("invoice", "receipt", "bill for"),
           ("Where can I download my invoice?", "I need a receipt for my purchase", "How do I get an invoice for my order?",
            "can you send me the invoice", "Where are my invoices?", "I need the bill for my last order for my accountant",
            "How can I get a copy of my receipt?", "download invoice for last month"),
           known=False, wrong="Invoices are mailed by post within 60 days."),
)

_HUMAN = re.compile(r"\b(human|person|agent|someone real|representative)\b", re.I)
_CORRECTION = re.compile(r"\b(not right|wrong|incorrect)\b", re.I)


def intent_of(text: str) -> Intent | None:
    """Keyword understanding: the simulated model and users agree on what a question is about."""
    lowered = text.lower()
    best, score = None, 0
    for intent in INTENTS:
        hits = sum(1 for k in intent.keywords if k in lowered)
        if hits > score:
            best, score = intent, hits
    return best


def chance(*parts: Any) -> float:
    """A deterministic number in [0, 1) for these parts: the demo replays identically."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_correct(intent: Intent, answer: str) -> bool:
    return intent.key in answer.lower()


@tool
def track_order(order_id: str) -> str:
    """Look up where an order is."""
    return f"order {order_id}: in transit, arrives on Friday"


@tool
def transfer_to_human(reason: str) -> str:
    """Hand the conversation over to a human support agent."""
    return "a human agent will join shortly"


TOOLS = [track_order, transfer_to_human]


def _examples(messages: list[BaseMessage]) -> list[tuple[str, str, bool]]:
    """(question, final answer, used a tool) of each few-shot example before the current turn."""
    last_user = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    out: list[tuple[str, str, bool]] = []
    question, answer, used_tool = None, "", False
    for m in messages[:last_user]:
        if isinstance(m, HumanMessage):
            if question is not None:
                out.append((question, answer, used_tool))
            question, answer, used_tool = str(m.content), "", False
        elif isinstance(m, AIMessage):
            used_tool = used_tool or bool(m.tool_calls)
            if m.content:
                answer = str(m.content)
    if question is not None:
        out.append((question, answer, used_tool))
    return out


class SupportModel(BaseChatModel):
    """A deterministic support model (see the module docstring); ``bind_tools`` returns itself."""

    lucky_rate: float = 0.25
    known_rate: float = 0.9
    example_rate: float = 0.95
    salt: str = "demo"

    @property
    def _llm_type(self) -> str:
        return "flywheel-demo-support-model"

    def bind_tools(self, tools: Any, **kwargs: Any) -> SupportModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.respond(messages))])

    def respond(self, messages: list[BaseMessage]) -> AIMessage:
        turn = [m for m in messages if not isinstance(m, SystemMessage)]
        last_user = max(i for i, m in enumerate(turn) if isinstance(m, HumanMessage))
        question = str(turn[last_user].content)
        tool_results = [m for m in turn[last_user:] if isinstance(m, ToolMessage)]
        usage = {"input_tokens": sum(len(str(m.content).split()) for m in turn), "output_tokens": 20, "total_tokens": 0}
        usage["total_tokens"] = usage["input_tokens"] + 20
        if _HUMAN.search(question):
            if tool_results:
                return AIMessage(content="I've asked a human colleague to take over; they will reply here shortly.", usage_metadata=usage)
            return AIMessage(content="", tool_calls=[{"name": "transfer_to_human", "args": {"reason": "customer request"}, "id": "call_human"}],
                             usage_metadata=usage)
        if _CORRECTION.search(question):
            return AIMessage(content="Thank you for the correction, I have noted it.", usage_metadata=usage)
        intent = intent_of(question)
        if intent is None:
            return AIMessage(content="Could you tell me a bit more about what you need?", usage_metadata=usage)
        examples = [(q, a, t) for q, a, t in _examples(turn) if intent_of(q) is intent and a]
        roll = chance(self.salt, question, len(turn))
        if examples and roll < self.example_rate:
            answer = examples[0][1]  # follows the good past example
        elif roll < (self.known_rate if intent.known else self.lucky_rate):
            answer = intent.answer
        else:
            answer = intent.wrong
        if intent.tool and answer == intent.answer:
            if not tool_results:
                return AIMessage(content="", tool_calls=[{"name": intent.tool, "args": {"order_id": "A17"}, "id": f"call_{intent.tool}"}],
                                 usage_metadata=usage)
        return AIMessage(content=answer, usage_metadata=usage)


@dataclass
class Reaction:
    """What a simulated user does after an answer."""

    kind: str  # copy | thumbs_up | rating | nothing | rephrase | correct | thumbs_down | human | abandon
    value: Any = None


class SimulatedUser:
    """Reacts to answers like real users do, deterministically per (user, question, turn)."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id

    def react(self, intent: Intent, answer: str, turn: int) -> Reaction:
        r = chance("user", self.user_id, answer, turn)
        if is_correct(intent, answer):
            if r < 0.45:
                return Reaction("copy", answer[:40])
            if r < 0.75:
                return Reaction("thumbs_up")
            if r < 0.9:
                return Reaction("rating", 5)
            return Reaction("nothing")
        if r < 0.35 and turn < 2:
            return Reaction("rephrase")
        if r < 0.6:
            return Reaction("correct", intent.answer)
        if r < 0.8:
            return Reaction("thumbs_down")
        if r < 0.9:
            return Reaction("human")
        return Reaction("abandon")

    def rephrase(self, intent: Intent, asked: list[str]) -> str:
        options = [q for q in intent.traffic_questions if q not in asked]
        return options[int(chance("rephrase", self.user_id, *asked) * len(options))] if options else asked[-1]
