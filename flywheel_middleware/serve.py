"""The HTTP feedback API (``flywheel serve``): web front ends post thumbs, copy, stop... by interaction id.

``create_app(fw, tokens)`` returns a FastAPI app; ``run_server(fw, tokens, host=..., port=...)``
serves it with uvicorn. This is the only module that imports FastAPI (the ``serve`` extra): the
core never does.

Auth: ``Authorization: Bearer <token>``. ``Tokens`` maps tokens to user ids and keeps only their
SHA-256 hashes, compared in constant time. A user may signal only on interactions whose stored
``user_id`` is theirs; an admin token may signal on any. Every request is rate limited per user
(token bucket); bodies over ``max_body_bytes`` get 413. Errors are JSON:
``{"error": "not_found", "message": "...", "status": 404}``.

An interaction the app recorded but the worker has not stored yet cannot be checked for its owner;
the API then waits up to ``pending_wait_s`` for the ingest queue to drain (``fw.flush``) and answers
404 if the interaction is still not stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import re
import threading
import time
import tomllib
import typing
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Iterable, Literal, Mapping, Optional, Union

from ._extras import requires_extra

with requires_extra("serve"):
    from fastapi import Depends, FastAPI, Path as PathParam, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter, ValidationError, WithJsonSchema
    from fastapi_offline import FastAPIOffline  # /docs and /redoc from packaged assets, no CDN
    from starlette.exceptions import HTTPException

from .errors import FlywheelError, RecordError, SignalError, UnknownInteractionError
from .feedback import canonical_kind, correction_value, make_signal
from .records import Signal

_log = logging.getLogger("flywheel_middleware.serve")

#: Kinds a front end may send to ``/feedback`` (corrections and preferences have their own
#: endpoints; implicit kinds and judge scores are not for browsers to send).
API_KINDS: tuple[str, ...] = ("thumbs_up", "thumbs_down", "rating", "copy", "regenerate", "abort", "escalate", "comment")
MIN_TOKEN_CHARS = 16
ENV_TOKENS = "FLYWHEEL_TOKENS"
ENV_ADMIN_TOKENS = "FLYWHEEL_ADMIN_TOKENS"


# -- tokens ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Principal:
    """Who a token belongs to."""

    user_id: str
    admin: bool = False


def hash_token(token: str) -> str:
    """The form a token is stored in (and may be written in a tokens file): ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    """Bearer tokens → users. Only SHA-256 hashes are kept; lookups compare in constant time.

    A token given as ``sha256:<64 hex>`` is taken as already hashed, so a tokens file need not
    hold the tokens themselves. Plain tokens must have at least ``MIN_TOKEN_CHARS`` characters.
    """

    def __init__(self) -> None:
        self._entries: list[tuple[bytes, Principal]] = []

    def add(self, token: str, user_id: str, *, admin: bool = False) -> Tokens:
        if not isinstance(user_id, str) or not user_id.strip():
            raise ValueError(f"a token needs a non-empty user id, got {user_id!r}")
        if not isinstance(token, str):
            raise ValueError(f"a token must be text, got {type(token).__name__}")
        token = token.strip()
        if token.startswith("sha256:"):
            digest_hex = token[len("sha256:"):].lower()
            if len(digest_hex) != 64 or any(c not in "0123456789abcdef" for c in digest_hex):
                raise ValueError("a hashed token is 'sha256:' followed by 64 hex digits")
            digest = bytes.fromhex(digest_hex)
        else:
            if len(token) < MIN_TOKEN_CHARS:
                raise ValueError(f"the token for {user_id!r} is too short: use at least {MIN_TOKEN_CHARS} random characters "
                                 "(python -c 'import secrets; print(secrets.token_urlsafe(32))')")
            digest = hashlib.sha256(token.encode()).digest()
        for existing, principal in self._entries:
            if hmac.compare_digest(existing, digest) and principal != Principal(user_id.strip(), admin):
                raise ValueError(f"the same token is given to {principal.user_id!r} and {user_id!r}")
        self._entries.append((digest, Principal(user_id.strip(), admin)))
        return self

    def authenticate(self, token: str | None) -> Principal | None:
        """The token's owner, or None. Every entry is compared, so timing does not tell which matched."""
        if not token:
            return None
        digest = hashlib.sha256(token.encode()).digest()
        found: Principal | None = None
        for existing, principal in self._entries:
            if hmac.compare_digest(existing, digest):
                found = principal
        return found

    def __len__(self) -> int:
        return len(self._entries)

    def users(self) -> list[str]:
        return sorted({p.user_id for _, p in self._entries})

    # -- builders ----------------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], tokens: Tokens | None = None) -> Tokens:
        """``{token: user_id}`` or ``{token: {"user": id, "admin": true}}``; a ``tokens`` table and an
        ``admin_tokens`` list (of tokens, or of ``{token: name}``) may wrap them."""
        out = tokens if tokens is not None else cls()
        if not isinstance(mapping, Mapping):
            raise ValueError(f"tokens must be a mapping of token to user id, got {type(mapping).__name__}")
        if "tokens" in mapping or "admin_tokens" in mapping:
            extra = set(mapping) - {"tokens", "admin_tokens"}
            if extra:
                raise ValueError(f"unexpected keys next to 'tokens': {sorted(extra)}")
            cls.from_mapping(mapping.get("tokens") or {}, out)
            admins = mapping.get("admin_tokens") or []
            if isinstance(admins, Mapping):
                for token, name in admins.items():
                    out.add(token, str(name), admin=True)
            else:
                for token in admins:
                    out.add(token, "admin", admin=True)
            return out
        for token, who in mapping.items():
            if isinstance(who, str):
                out.add(token, who)
            elif isinstance(who, Mapping) and isinstance(who.get("user"), str):
                out.add(token, who["user"], admin=bool(who.get("admin", False)))
            else:
                raise ValueError(f"a token maps to a user id or {{'user': ..., 'admin': ...}}, got {who!r}")
        return out

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], tokens: Tokens | None = None) -> Tokens:
        """A JSON or TOML (``.toml``) file in the shape ``from_mapping`` reads."""
        file = Path(path)
        try:
            text = file.read_text()
        except OSError as exc:
            raise ValueError(f"cannot read the tokens file {file}: {exc}") from exc
        try:
            data = tomllib.loads(text) if file.suffix.lower() == ".toml" else json.loads(text)
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"the tokens file {file} is not valid {'TOML' if file.suffix.lower() == '.toml' else 'JSON'}: {exc}") from exc
        return cls.from_mapping(data, tokens)

    @classmethod
    def from_options(cls, pairs: Iterable[str], tokens: Tokens | None = None, *, admin: bool = False) -> Tokens:
        """``user=TOKEN`` strings (``--token``); for admins a bare ``TOKEN`` means user ``admin``."""
        out = tokens if tokens is not None else cls()
        for pair in pairs:
            pair = pair.strip()
            if not pair:
                continue
            user, sep, token = pair.partition("=")
            if not sep:
                if not admin:
                    raise ValueError(f"expected user=TOKEN, got {pair[:4]}…")
                user, token = "admin", pair
            out.add(token, user, admin=admin)
        return out

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, tokens: Tokens | None = None) -> Tokens:
        """``FLYWHEEL_TOKENS="alice=TOKEN,bob=TOKEN"`` and ``FLYWHEEL_ADMIN_TOKENS="TOKEN"`` (comma-separated)."""
        env = os.environ if environ is None else environ
        out = tokens if tokens is not None else cls()
        cls.from_options(env.get(ENV_TOKENS, "").split(","), out)
        cls.from_options(env.get(ENV_ADMIN_TOKENS, "").split(","), out, admin=True)
        return out


# -- rate limits -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket per user: ``rate`` requests per second on average, bursts of ``burst``."""

    rate: float = 5.0
    burst: int = 20

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and self.burst > 0


class RateLimiter:
    def __init__(self, limit: RateLimit, clock: Any = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """0.0 if allowed (and one token taken), else the seconds until a token is available."""
        if not self.limit.enabled:
            return 0.0
        now = self._clock()
        with self._lock:
            level, last = self._buckets.get(key, (float(self.limit.burst), now))
            level = min(float(self.limit.burst), level + (now - last) * self.limit.rate)
            if level >= 1.0:
                self._buckets[key] = (level - 1.0, now)
                return 0.0
            self._buckets[key] = (level, now)
            return (1.0 - level) / self.limit.rate


# -- request and response models ------------------------------------------------------------------------
# The models below are the contract: the OpenAPI schema is generated from them and every request
# body is validated by them (``_parse_body``), so what the schema allows is what the server accepts.
_NON_BLANK = re.compile(r"\S")


def _non_blank(value: str) -> str:
    # Python's ``re`` (which hypothesis-jsonschema also uses for ``pattern``) and ``str.strip``
    # agree on what whitespace is; the schema says the same with ``pattern: \S``
    if not _NON_BLANK.search(value):
        raise ValueError("must be non-empty text (not only whitespace)")
    return value


def _integral(value: Any) -> Any:
    # JSON Schema's ``integer`` includes 3.0 (a number with no fraction), and so do JSON clients
    # that only have floats: take it as 3; "3", true and 3.5 stay refused, as the schema says
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_JsonInteger = Annotated[StrictInt, BeforeValidator(_integral)]
_NonBlankText = Annotated[StrictStr, AfterValidator(_non_blank), WithJsonSchema({"type": "string", "minLength": 1, "pattern": "\\S"})]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ThumbsUpEvent(_Event):
    """The user liked the answer (aliases ``up``, ``like``, ``thumbsup``)."""

    kind: Literal["thumbs_up", "up", "like", "thumbsup"]
    value: None = Field(None, description="no value")


class ThumbsDownEvent(_Event):
    """The user disliked the answer (aliases ``down``, ``dislike``, ``thumbsdown``)."""

    kind: Literal["thumbs_down", "down", "dislike", "thumbsdown"]
    value: None = Field(None, description="no value")


class RatingEvent(_Event):
    """A 1-5 rating (4-5 good, 1-2 bad, 3 neutral)."""

    kind: Literal["rating"]
    value: _JsonInteger = Field(..., ge=1, le=5)


class CopyEvent(_Event):
    """The user copied (part of) the answer (alias ``copied``)."""

    kind: Literal["copy", "copied"]
    value: Optional[StrictStr] = Field(None, description="the copied text")


class RegenerateEvent(_Event):
    """The user asked for another answer."""

    kind: Literal["regenerate"]
    value: None = Field(None, description="no value")


class AbortEvent(_Event):
    """The user stopped the run before it finished (``stop`` is an alias)."""

    kind: Literal["abort", "stop"]
    value: Optional[StrictStr] = Field(None, description="why, if known")


class EscalateEvent(_Event):
    """The user asked for a human."""

    kind: Literal["escalate"]
    value: Optional[StrictStr] = Field(None, description="why, if known")


class CommentEvent(_Event):
    """Free text from the user about the answer."""

    kind: Literal["comment"]
    value: StrictStr = Field(..., description="the comment")


FEEDBACK_EVENTS = (ThumbsUpEvent, ThumbsDownEvent, RatingEvent, CopyEvent, RegenerateEvent, AbortEvent, EscalateEvent, CommentEvent)
#: every spelling of ``kind`` the feedback endpoint accepts, and the event model that validates it
EVENT_BY_KIND: dict[str, type[_Event]] = {
    spelling: model for model in FEEDBACK_EVENTS for spelling in typing.get_args(model.model_fields["kind"].annotation)
}
FeedbackEvent = Annotated[Union[FEEDBACK_EVENTS], Field(discriminator="kind")]  # type: ignore[valid-type]


class CorrectionIn(BaseModel):
    """The answer the user says the agent should have given (an SFT target and a DPO pair)."""

    model_config = ConfigDict(extra="forbid")
    edited_output: _NonBlankText = Field(..., description="the corrected answer (not blank)")


class PreferenceIn(BaseModel):
    """A pairwise choice between two answers to this interaction's input (a DPO pair).

    ``chosen`` and ``rejected`` must differ: the same text twice teaches nothing, and is answered
    with 422 ``invalid_signal`` (JSON Schema cannot say "these two differ")."""

    model_config = ConfigDict(extra="forbid")
    chosen: _NonBlankText
    rejected: _NonBlankText


class SignalOut(BaseModel):
    """A stored or queued signal. ``duplicate`` is true when the same event was already recorded
    (the same user, kind and value): the id is then the earlier signal's."""

    id: str
    interaction_id: str
    kind: str
    value: Any = None
    source: str
    actor: Optional[str] = None
    at: float
    duplicate: bool = False


class SignalList(BaseModel):
    interaction_id: str
    signals: list[SignalOut]


class WhoAmI(BaseModel):
    user_id: str
    admin: bool


class Health(BaseModel):
    status: str
    worker: str


class FieldError(BaseModel):
    loc: list[str]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error: a stable code, a message a person can act on, the HTTP status (and, for an
    invalid request, which fields are wrong)."""

    error: str
    message: str
    status: int
    errors: Optional[list[FieldError]] = None


_ERROR_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "invalid_signal",
                429: "rate_limited", 500: "internal_error", 503: "unavailable"}
_ERROR_DESCRIPTIONS = {
    400: "a malformed request (an invalid Content-Length)",
    401: "no token, not a bearer token, or an unknown token",
    403: "the interaction belongs to another user, or the user has opted out",
    404: "unknown interaction id (or not stored within the pending wait)",
    413: "the body is over the size limit",
    415: "the body is not JSON (Content-Type must be application/json)",
    422: "`invalid_request`: the body is not UTF-8 JSON of the documented shape (NaN/Infinity are not JSON); "
         "`invalid_signal`: a kind or value the signal rules refuse (an unknown kind, chosen == rejected)",
    429: "over the user's rate limit (see Retry-After)",
    503: "the durable ingest queue is full (see Retry-After)",
}
_READ_ERRORS = {code: {"model": ErrorOut, "description": _ERROR_DESCRIPTIONS[code]} for code in (401, 403, 404, 422, 429)}
_WRITE_ERRORS = {code: {"model": ErrorOut, "description": _ERROR_DESCRIPTIONS[code]} for code in sorted(_ERROR_DESCRIPTIONS)}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is out of range")
    return number


def _decode_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN / Infinity, finite numbers (lone surrogates are normalised later)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BodyError(f"the body is not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except ValueError as exc:
        reason = str(exc) if "JSON" in str(exc) or "range" in str(exc) else ""
        raise _BodyError("the body is not valid JSON" + (f" ({reason})" if reason and "Expecting" not in reason else "")) from exc


class _BodyError(Exception):
    """A body that is not strict UTF-8 JSON: 422 ``invalid_request``."""


async def json_body(request: Request) -> Any:
    """The request body as strict JSON (a dependency, so every POST parses the same way)."""
    ctype = request.headers.get("content-type")
    if ctype is not None:
        media = ctype.split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise HTTPException(415, f"send the body as JSON with Content-Type: application/json (got {media[:60]!r})")
    return _decode_json(await request.body())


def _body_errors(errors: Iterable[Any], prefix: tuple[str, ...] = ("body",)) -> RequestValidationError:
    return RequestValidationError([{"loc": (*prefix, *e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                                   for e in errors])


def _validated(model: Any, raw: Any) -> Any:
    """``raw`` validated by ``model`` (the same model the schema shows); 422 ``invalid_request`` if not."""
    try:
        return TypeAdapter(model).validate_python(raw)
    except ValidationError as exc:
        raise _body_errors(exc.errors()) from None


def _feedback_event(raw: Any) -> _Event:
    """The feedback body as its event model. A kind the API does not take is ``invalid_signal``
    with the library's reason; a body of the wrong shape is ``invalid_request``."""
    if not isinstance(raw, dict):
        raise _body_errors([{"loc": (), "msg": "the body must be a JSON object", "type": "dict_type"}])
    if "kind" not in raw:
        raise _body_errors([{"loc": ("kind",), "msg": "Field required", "type": "missing"}])
    kind = raw["kind"]
    if not isinstance(kind, str):
        raise _body_errors([{"loc": ("kind",), "msg": "Input should be a valid string", "type": "string_type"}])
    model = EVENT_BY_KIND.get(kind)
    if model is None:
        name = canonical_kind(kind)  # SignalError: unknown kind
        if name not in API_KINDS:
            hint = {"correction": " (use POST .../correction)", "preference": " (use POST .../preference)"}.get(name, "")
            raise SignalError(f"kind {name!r} cannot be sent through this API{hint}; accepted kinds: {list(API_KINDS)}")
        raise SignalError(f"write the kind as documented ({name!r}); accepted spellings: {sorted(EVENT_BY_KIND)}")
    return _validated(model, raw)


def _invalid_request(errors: Iterable[Any]) -> JSONResponse:
    items = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors]
    message = "; ".join("the body is not valid JSON" if e["type"] == "json_invalid" else
                        f"{'.'.join(e['loc'][1:] or e['loc'])}: {e['msg']}" for e in items) or "invalid request"
    return _error(422, message, code="invalid_request", errors=items)


def _error(status: int, message: str, headers: Mapping[str, str] | None = None, *, code: str | None = None, **extra: Any) -> JSONResponse:
    body = {"error": code or _ERROR_CODES.get(status, "error"), "message": message, "status": status, **extra}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


class _BodyLimit:
    """Pure ASGI: refuse request bodies over ``max_bytes`` with 413 before the app reads them."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        too_big = f"the request body is over the {self.max_bytes} byte limit"
        length = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _error(400, "invalid Content-Length")(scope, receive, send)
                return
            if declared > self.max_bytes:
                await _error(413, too_big)(scope, receive, send)
                return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _error(413, too_big)(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# -- the app -----------------------------------------------------------------------------------------
def create_app(
    fw: Any,
    tokens: Tokens | Mapping[str, Any],
    *,
    admin_tokens: Iterable[str] = (),
    rate_limit: RateLimit | None = None,
    max_body_bytes: int = 64 * 1024,
    cors_origins: Iterable[str] = (),
    pending_wait_s: float = 2.0,
    title: str = "flywheel feedback API",
) -> FastAPI:
    """The feedback API over an open ``Flywheel``.

    ``tokens``: a ``Tokens`` or a mapping ``{token: user_id}`` (see ``Tokens.from_mapping``);
    ``admin_tokens``: tokens that may signal on any interaction. ``rate_limit``: per user
    (default 5/s, bursts of 20; ``RateLimit(0, 0)`` turns it off). ``cors_origins``: origins
    allowed to call from a browser (``["*"]`` for any). ``pending_wait_s``: how long to wait for
    an accepted-but-not-yet-stored interaction before answering 404.
    """
    from fastapi.middleware.cors import CORSMiddleware
    from fastapi.openapi.utils import get_openapi

    registry = tokens if isinstance(tokens, Tokens) else Tokens.from_mapping(tokens)
    Tokens.from_options(admin_tokens, registry, admin=True)
    if not len(registry):
        raise ValueError("the feedback API needs at least one token (a tokens file, --token user=TOKEN or --admin-token)")
    limiter = RateLimiter(rate_limit or RateLimit())
    recent: OrderedDict[str, Signal] = OrderedDict()  # signals this server queued, for idempotent answers
    recent_lock = threading.Lock()

    app = FastAPIOffline(
        swagger_ui_parameters={"validatorUrl": None},  # Swagger UI would otherwise call validator.swagger.io
        title=title,
        version=_version(),
        description=(
            "Post what a user did about an agent's answer (thumbs, rating, copy, stop, regenerate, escalate, "
            "a correction or a preference) by interaction id. Authenticate with `Authorization: Bearer <token>`; "
            "a token may signal only on its own user's interactions. Errors are JSON `{error, message, status}`."
        ),
    )

    # -- errors as JSON ------------------------------------------------------------------------------
    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = "opted_out" if exc.status_code == 403 and "opted out" in str(exc.detail) else None
        return _error(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None), code=code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _invalid_request(exc.errors())

    @app.exception_handler(_BodyError)
    async def _bad_body(request: Request, exc: _BodyError) -> JSONResponse:
        return _error(422, str(exc), code="invalid_request", errors=[{"loc": ["body"], "msg": str(exc), "type": "json_invalid"}])

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        _log.error("flywheel serve: %s %s failed", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal error; the server log has the details")

    @app.exception_handler(SignalError)
    @app.exception_handler(RecordError)  # a FlywheelError too: without this it would read as 503
    async def _bad_signal(request: Request, exc: FlywheelError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(UnknownInteractionError)
    async def _unknown(request: Request, exc: UnknownInteractionError) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(FlywheelError)
    async def _unavailable(request: Request, exc: FlywheelError) -> JSONResponse:
        return _error(503, f"the signal could not be queued ({exc}); retry later", headers={"Retry-After": "5"})

    # -- auth, ownership -------------------------------------------------------------------------------
    def principal(request: Request) -> Principal:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        who = registry.authenticate(credentials.strip()) if scheme.lower() == "bearer" else None
        if who is None:
            reason = "missing bearer token" if not credentials else "invalid bearer token"
            raise HTTPException(401, f"{reason}: send 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
        wait = limiter.acquire(who.user_id)
        if wait > 0:
            raise HTTPException(429, f"too many requests for user {who.user_id!r}; retry in {wait:.1f} s",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})
        return who

    def owned(interaction_id: str, who: Principal) -> Any:
        interaction = fw.get(interaction_id)
        if interaction is None and pending_wait_s > 0:
            fw.flush(timeout=pending_wait_s)  # accepted by the app but not stored yet?
            interaction = fw.get(interaction_id)
        if interaction is None:
            raise HTTPException(404, f"unknown interaction id {interaction_id!r} (or not stored yet: retry in a few seconds)")
        if not who.admin and interaction.user_id != who.user_id:
            raise HTTPException(403, f"interaction {interaction_id!r} belongs to another user")
        return interaction

    def existing(signal: Signal) -> Signal | None:
        with recent_lock:
            if signal.id in recent:
                return recent[signal.id]
        for stored in fw.signals(signal.interaction_id):
            if stored.id == signal.id:
                return stored
        return None

    def queue(signal: Signal, send: Any) -> tuple[Signal, bool]:
        """Queue ``signal`` through ``send`` unless the same signal is already known."""
        opted_out = getattr(fw, "is_opted_out", None)
        if callable(opted_out) and opted_out(signal.actor):
            raise HTTPException(403, f"user {signal.actor!r} has opted out: nothing of theirs is recorded")
        with recent_lock:
            known = recent.get(signal.id)
        if known is None:
            known = existing(signal)
        if known is not None:
            return known, True
        queued = send()
        with recent_lock:
            recent[queued.id] = queued
            while len(recent) > 10_000:
                recent.popitem(last=False)
        return queued, False

    def out(signal: Signal, duplicate: bool) -> SignalOut:
        return SignalOut(id=signal.id, interaction_id=signal.interaction_id, kind=signal.kind, value=signal.value,
                         source=signal.source, actor=signal.actor, at=signal.at, duplicate=duplicate)

    def respond(signal: Signal, duplicate: bool) -> JSONResponse:
        return JSONResponse(out(signal, duplicate).model_dump(mode="json"), status_code=200 if duplicate else 201)

    interaction_path = PathParam(..., min_length=1, max_length=200, description="the interaction id (a LangChain turn's root run id)")
    lock = threading.Lock()

    # -- endpoints ----------------------------------------------------------------------------------
    @app.get("/healthz", response_model=Health, tags=["meta"])
    def healthz() -> Health:
        """Liveness: no auth needed."""
        state = getattr(fw, "_worker_state", None)
        return Health(status="ok", worker=state() if callable(state) else "unknown")

    @app.get("/v1/whoami", response_model=WhoAmI, responses={c: r for c, r in _READ_ERRORS.items() if c in (401, 429)}, tags=["meta"])
    def whoami(who: Principal = Depends(principal)) -> WhoAmI:
        """The user the bearer token belongs to."""
        return WhoAmI(user_id=who.user_id, admin=who.admin)

    @app.post("/v1/interactions/{interaction_id}/feedback", status_code=201, response_model=SignalOut, responses=_WRITE_ERRORS | {
        200: {"model": SignalOut, "description": "the same event was already recorded: the earlier signal"}}, tags=["signals"],
        openapi_extra={"x-body": "FeedbackEvent"})
    def feedback(interaction_id: str = interaction_path, who: Principal = Depends(principal),
                 raw: Any = Depends(json_body)) -> JSONResponse:
        """Record a UI event: thumbs_up, thumbs_down, rating (1-5), copy, regenerate, abort (alias stop), escalate, comment.

        201 with the new signal; 200 with the earlier one for a duplicate (same user, kind and value).
        """
        body = _feedback_event(raw)
        kind = canonical_kind(body.kind)
        owned(interaction_id, who)
        signal = make_signal(interaction_id, kind, body.value, actor=who.user_id)
        with lock:
            stored, duplicate = queue(signal, lambda: fw.feedback(interaction_id, kind, signal.value, actor=who.user_id))
        return respond(stored, duplicate)

    @app.post("/v1/interactions/{interaction_id}/correction", status_code=201, response_model=SignalOut, responses=_WRITE_ERRORS | {
        200: {"model": SignalOut, "description": "the same correction was already recorded"}}, tags=["signals"],
        openapi_extra={"x-body": "CorrectionIn"})
    def correction(interaction_id: str = interaction_path, who: Principal = Depends(principal),
                   raw: Any = Depends(json_body)) -> JSONResponse:
        """The corrected answer: stored as an SFT target and, against the agent's answer, a DPO pair."""
        body = _validated(CorrectionIn, raw)
        interaction = owned(interaction_id, who)
        original = interaction.output_text
        signal = make_signal(interaction_id, "correction", correction_value(original, body.edited_output), actor=who.user_id)
        with lock:
            stored, duplicate = queue(signal, lambda: fw.correct(interaction_id, body.edited_output, original=original, actor=who.user_id))
        return respond(stored, duplicate)

    @app.post("/v1/interactions/{interaction_id}/preference", status_code=201, response_model=SignalOut, responses=_WRITE_ERRORS | {
        200: {"model": SignalOut, "description": "the same preference was already recorded"}}, tags=["signals"],
        openapi_extra={"x-body": "PreferenceIn"})
    def preference(interaction_id: str = interaction_path, who: Principal = Depends(principal),
                   raw: Any = Depends(json_body)) -> JSONResponse:
        """A pairwise choice between two answers to this interaction's input; ``chosen`` and ``rejected`` must differ (else 422)."""
        body = _validated(PreferenceIn, raw)
        owned(interaction_id, who)
        signal = make_signal(interaction_id, "preference", {"chosen": body.chosen, "rejected": body.rejected}, actor=who.user_id)
        with lock:
            stored, duplicate = queue(signal, lambda: fw.prefer(interaction_id, body.chosen, body.rejected, actor=who.user_id))
        return respond(stored, duplicate)

    @app.get("/v1/interactions/{interaction_id}/signals", response_model=SignalList, responses=_READ_ERRORS, tags=["signals"])
    def signals(interaction_id: str = interaction_path, who: Principal = Depends(principal)) -> SignalList:
        """The signals stored for one of your interactions (explicit and implicit), oldest first.

        Signals accepted a moment ago appear once the worker has stored them (the call waits
        briefly for that).
        """
        owned(interaction_id, who)
        with recent_lock:
            pending = any(s.interaction_id == interaction_id for s in reversed(recent.values()))
        if pending and pending_wait_s > 0:
            fw.flush(timeout=pending_wait_s)
        return SignalList(interaction_id=interaction_id, signals=[out(s, False) for s in fw.signals(interaction_id)])

    # -- OpenAPI: one schema per UI event for the feedback body ---------------------------------------
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        bodies: dict[str, Any] = {}
        for name, model in (("FeedbackEvent", FeedbackEvent), ("CorrectionIn", CorrectionIn), ("PreferenceIn", PreferenceIn)):
            body_schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
            components.update(body_schema.pop("$defs", {}))
            if name == "FeedbackEvent":
                body_schema = {"oneOf": body_schema["oneOf"], "title": "FeedbackEvent",
                               "discriminator": {"propertyName": "kind", "mapping": {
                                   k: f"#/components/schemas/{m.__name__}" for k, m in EVENT_BY_KIND.items()}}}
            else:
                components[name] = body_schema
                body_schema = {"$ref": f"#/components/schemas/{name}"}
            bodies[name] = body_schema
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if not isinstance(operation, dict):
                    continue
                body_name = operation.pop("x-body", None)
                if body_name is not None:
                    content: dict[str, Any] = {"schema": bodies[body_name]}
                    if body_name == "FeedbackEvent":
                        content["examples"] = {
                            "thumbs_up": {"value": {"kind": "thumbs_up"}},
                            "rating": {"value": {"kind": "rating", "value": 4}},
                            "copy": {"value": {"kind": "copy", "value": "the copied text"}},
                            "stop": {"value": {"kind": "stop"}},
                        }
                    operation["requestBody"] = {"required": True, "content": {"application/json": content}}
        for path, path_item in schema.get("paths", {}).items():
            if path.startswith("/v1/"):
                for operation in path_item.values():
                    if isinstance(operation, dict):
                        operation["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    # outermost last: CORS wraps the body limit, so even a 413 carries the CORS headers a browser needs
    app.add_middleware(_BodyLimit, max_bytes=max_body_bytes)  # type: ignore[arg-type]
    origins = list(cors_origins)
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "OPTIONS"],  # type: ignore[arg-type]
                           allow_headers=["Authorization", "Content-Type"], max_age=600)
    app.state.flywheel = fw
    app.state.tokens = registry
    return app


def run_server(fw: Any, tokens: Tokens | Mapping[str, Any], *, host: str = "127.0.0.1", port: int = 8088,
               log_level: str = "info", **options: Any) -> None:
    """Serve ``create_app(fw, tokens, **options)`` with uvicorn until interrupted (Ctrl-C)."""
    import uvicorn

    app = create_app(fw, tokens, **options)
    if host not in ("127.0.0.1", "localhost", "::1"):
        _log.warning("flywheel serve: listening on %s without TLS; put it behind a TLS-terminating proxy", host)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_keep_alive=5, server_header=False)


def _version() -> str:
    try:
        from . import __version__

        return __version__
    except ImportError:  # pragma: no cover
        return "0"


__all__ = ["API_KINDS", "EVENT_BY_KIND", "FEEDBACK_EVENTS", "FeedbackEvent", "CorrectionIn", "PreferenceIn", "Principal", "RateLimit", "RateLimiter",
           "SignalOut", "Tokens", "create_app", "hash_token", "run_server"]
