"""Quota-aware failover across Vertex AI locations (opt-in, ``fallback_locations``).

A request answered 429 RESOURCE_EXHAUSTED or 503 UNAVAILABLE by the location in use is
sent again at once, with the same body and credentials, to the next listed location that
is not cooling down. Only listed locations are ever contacted; without
``fallback_locations`` a request never leaves its location (see docs/failover.md).

Three pieces, each used by the connection layer (``_clients.py``):

* :func:`failover_plan` validates the keyword at construction and builds a
  :class:`FailoverPlan` (the ordered locations and how a URL changes per location);
* :data:`COOLING` is the process-wide registry of locations that answered 429/503, keyed
  per API host, project and location, safe across threads, event loops and ``fork()``;
* :meth:`FailoverPlan.send` / :meth:`FailoverPlan.asend` make the resend decision around
  one transport send. They only see the status line: a streamed answer fails over only
  before its first byte, never after.

Why: Vertex's quota is per project, model and region, and the global endpoint has its own
(https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429); users build this
fallback themselves today (googleapis/python-genai issue 1288).
"""

from __future__ import annotations

import email.utils
import logging
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from vertex_openai._endpoint import _LOCATION_RE, VertexEndpoint, host_for_location
from vertex_openai._errors import VertexConfigError

__all__ = [
    "COOLING",
    "DEFAULT_COOLDOWN",
    "FAILOVER_STATUSES",
    "LOCATION_KEY",
    "AnsweredLocation",
    "CoolingRegistry",
    "FailoverPlan",
    "answered_location",
    "clear_failover_cooling",
    "failover_plan",
]

logger = logging.getLogger("vertex_openai.failover")

DEFAULT_COOLDOWN = 30.0
"""Seconds a location is skipped after a 429/503 without a ``Retry-After`` header.

Vertex's 429 bodies carry no retry delay (Google's guidance is to back off and retry:
https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429); 30 s is long enough
for a per-minute quota window to move on, short enough to return to the primary soon.
"""
MAX_COOLDOWN = 3600.0
"""A ``Retry-After`` above this is capped, so a bad header cannot park a location for days."""
FAILOVER_STATUSES = frozenset({429, 503})
"""RESOURCE_EXHAUSTED and UNAVAILABLE: the statuses another location may not share."""

LOCATION_KEY = "vertex_location"
"""Where both frameworks report the location that answered (with ``fallback_locations``)."""

_PATH_LOCATION = re.compile(rb"/projects/([^/]+)/locations/([^/?]+)")

# -- the cooling registry -------------------------------------------------------------------


class CoolingRegistry:
    """Locations that answered 429/503, and until when (monotonic clock) they are skipped.

    One per process (:data:`COOLING`), shared by every model object: a quota is per project
    and region, not per object. Keys are ``(api origin, project, location)``: two emulators
    or private endpoints never share state, nor do two projects. A plain lock around dict
    operations (no I/O, no awaiting under it) serves threads and event loops alike; a forked
    child gets a new lock (the parent's may have been held by another thread at the fork)
    and keeps what the parent knew.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[tuple[str, str, str], float] = {}

    def _after_fork(self) -> None:
        self._lock = threading.Lock()

    def cool(self, key: tuple[str, str, str], seconds: float) -> None:
        """Skip ``key`` for ``seconds`` from now (a later deadline is kept)."""
        until = time.monotonic() + seconds
        with self._lock:
            if self._until.get(key, 0.0) < until:
                self._until[key] = until

    def cooling(self, key: tuple[str, str, str]) -> float:
        """Seconds ``key`` still cools (0.0 when it may be used)."""
        with self._lock:
            until = self._until.get(key)
            if until is None:
                return 0.0
            left = until - time.monotonic()
            if left <= 0:
                del self._until[key]
                return 0.0
            return left

    def clear(self) -> None:
        """Forget every cooling location (tests, or after fixing a quota)."""
        with self._lock:
            self._until.clear()


COOLING = CoolingRegistry()
"""The process-wide registry."""


def clear_failover_cooling() -> None:
    """Forget every location that answered 429/503 in this process.

    For tests (each starts as a fresh process would) and after a quota increase.
    """
    COOLING.clear()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=COOLING._after_fork)


def retry_after_seconds(headers: Any, default: float = DEFAULT_COOLDOWN) -> float:
    """``Retry-After`` in seconds (delta seconds or an HTTP date), else ``default``.

    The header's forms: https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
    """
    value = headers.get("retry-after")
    if not value:
        return default
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        seconds = when.timestamp() - time.time()
    if seconds != seconds or seconds < 0:  # NaN, or a date in the past
        return default if seconds != seconds else 0.0
    return min(seconds, MAX_COOLDOWN)


# -- which location answered ------------------------------------------------------------


class AnsweredLocation:
    """Filled in by the transport with the location whose answer is returned."""

    __slots__ = ("location",)

    def __init__(self) -> None:
        self.location: str | None = None


_ANSWERED: ContextVar[AnsweredLocation | None] = ContextVar("vertex_answered", default=None)


class _AnsweredLocationScope:
    """Sets the holder the transport writes into for the ``with`` block; see below."""

    __slots__ = ("_token", "holder")

    def __init__(self, holder: AnsweredLocation | None = None) -> None:
        self.holder = holder if holder is not None else AnsweredLocation()
        self._token: Any = None

    def __enter__(self) -> AnsweredLocation:
        self._token = _ANSWERED.set(self.holder)
        return self.holder

    def __exit__(self, *exc: object) -> None:
        _ANSWERED.reset(self._token)


def answered_location(holder: AnsweredLocation | None = None) -> _AnsweredLocationScope:
    """A context manager that reports which location answered the calls inside it.

    ``with answered_location() as where:`` ... ``where.location`` after the call. The
    transport only reads the context variable and writes into the holder it finds, so the
    answer reaches the caller even through copied contexts (callbacks, executors). Set and
    reset in one frame (no ``yield`` between), as context tokens require.

    Args:
        holder: The holder to fill in (a new one by default); the ``with`` target.
    """
    return _AnsweredLocationScope(holder)


# -- the plan -----------------------------------------------------------------------------


def _check_location(value: Any) -> str:
    if not isinstance(value, str) or not _LOCATION_RE.match(value.strip()):
        hint = ""
        if isinstance(value, str) and ("." in value or value != value.lower()):
            hint = " Use lower-case location names such as 'us-central1', not host names."
        msg = (
            f"fallback_locations: malformed location {value!r}. Use 'global', a region such "
            f"as 'europe-west4', or the multi-region 'us' / 'eu'.{hint}"
        )
        raise VertexConfigError(msg)
    return value.strip()


def failover_plan(
    endpoint: VertexEndpoint, fallback_locations: Iterable[str] | None
) -> FailoverPlan | None:
    """Validate ``fallback_locations`` for ``endpoint``; ``None`` when there are none.

    Raises:
        VertexConfigError: naming ``fallback_locations``: not a list of location names, a
            malformed or repeated location, the primary location listed again, a
            self-deployed or dedicated endpoint (their ids exist in one region only), or a
            ``base_url`` whose path names no location.
    """
    if fallback_locations is None:
        return None
    if isinstance(fallback_locations, str | bytes) or not isinstance(fallback_locations, Iterable):
        msg = (
            "fallback_locations must be a list of location names such as "
            f"['europe-west4', 'global'], got {fallback_locations!r}."
        )
        raise VertexConfigError(msg)
    listed = [_check_location(value) for value in fallback_locations]
    if not listed:
        return None
    primary = endpoint.location
    for i, location in enumerate(listed):
        if location == primary:
            msg = (
                f"fallback_locations lists {location!r}, which is already the primary "
                "location (`location`); list only the other locations to try, in order."
            )
            raise VertexConfigError(msg)
        if location in listed[:i]:
            msg = f"fallback_locations lists {location!r} twice; list each location once."
            raise VertexConfigError(msg)
    if endpoint.is_self_deployed or endpoint.dedicated_endpoint_dns:
        msg = (
            "fallback_locations works only with Google-managed models on the shared "
            "`openapi` endpoint: a self-deployed or dedicated endpoint "
            f"({endpoint.endpoint_id!r}) exists in one region only. Remove "
            "fallback_locations, or deploy the model in each region and use one model "
            "object per endpoint."
        )
        raise VertexConfigError(msg)
    if endpoint.base_url_override and not _PATH_LOCATION.search(
        endpoint.base_url_override.encode()
    ):
        msg = (
            "fallback_locations needs a base_url whose path names the location "
            "(.../projects/P/locations/L/...); pass `api_endpoint` with `project` and "
            "`location` instead."
        )
        raise VertexConfigError(msg)
    return FailoverPlan(primary, tuple(listed), _fixed_origin(endpoint))


def _fixed_origin(endpoint: VertexEndpoint) -> str | None:
    # With api_endpoint / base_url (the emulator, Private Service Connect, a proxy) the
    # host stays and only the path's location changes: that host routes by path.
    if endpoint.base_url_override or endpoint.api_endpoint:
        return endpoint.origin
    return None


@dataclass(frozen=True)
class FailoverPlan:
    """The locations a request may go to, in order, and the resend rule.

    Attributes:
        primary: The configured location (tried first unless it is cooling).
        fallbacks: The listed ``fallback_locations``, in order.
        fixed_origin: ``scheme://host[:port]`` kept for every location (``api_endpoint`` /
            ``base_url``), or ``None``: Google's host of each location.
    """

    primary: str
    fallbacks: tuple[str, ...]
    fixed_origin: str | None = None

    @property
    def locations(self) -> tuple[str, ...]:
        """Primary first, then the fallbacks."""
        return (self.primary, *self.fallbacks)

    def _key(self, project: str, location: str) -> tuple[str, str, str]:
        return (self.fixed_origin or "google", project, location)

    def order(self, project: str) -> list[str]:
        """Locations to try for one request: those not cooling, in listed order.

        When every location is cooling, all are tried in listed order: a request is never
        refused locally, the SDK's retries (``max_retries``) decide as without failover.
        """
        ready = [loc for loc in self.locations if not COOLING.cooling(self._key(project, loc))]
        return ready or list(self.locations)

    def _route(self, request: Any, location: str, project: bytes, match: Any) -> None:
        """Point ``request`` (in place: its signed headers stay) at ``location``."""
        url = request.url
        raw = url.raw_path
        new_path = raw[: match.start(2)] + location.encode() + raw[match.end(2) :]
        if self.fixed_origin is None:
            url = url.copy_with(raw_path=new_path, host=host_for_location(location))
        else:
            url = url.copy_with(raw_path=new_path)
        request.url = url
        request.headers["Host"] = url.netloc.decode("ascii")

    def _start(self, request: Any) -> tuple[Any, bytes, list[str]] | None:
        match = _PATH_LOCATION.search(request.url.raw_path)
        if match is None:
            return None
        project = match.group(1)
        order = self.order(project.decode("ascii", "replace"))
        return match, project, order

    def _failed(self, response: Any, project: bytes, location: str, following: str | None) -> None:
        seconds = retry_after_seconds(response.headers)
        COOLING.cool(self._key(project.decode("ascii", "replace"), location), seconds)
        if following is None:
            return  # the last one: its error goes to the SDK, whose retries decide
        # No URL, header or body: the URL can hold an express key.
        logger.debug(
            "Vertex location %s answered %d; it cools for %.1f s; sending the same request to %s",
            location,
            response.status_code,
            seconds,
            following,
        )

    def _walk(self, request: Any) -> Generator[bool | None, Any, None]:
        """One request's way through the locations, shared by :meth:`send` and :meth:`asend`.

        Yields ``None`` once ``request`` is routed (send it, then send the response in),
        then whether to return that response; after ``False`` the response is drained and
        the walk resumed for the next location.
        """
        started = self._start(request)
        if started is None:
            yield None
            yield True
            return
        match, project, order = started
        for i, location in enumerate(order):
            self._route(request, location, project, match)
            response = yield None
            last = i == len(order) - 1
            if response.status_code in FAILOVER_STATUSES and last:
                self._failed(response, project, location, None)
            if response.status_code not in FAILOVER_STATUSES or last:
                _record(location)
                yield True
                return
            yield False
            self._failed(response, project, location, order[i + 1])
            match = _PATH_LOCATION.search(request.url.raw_path)

    def send(self, request: Any, send: Callable[[Any], Any]) -> Any:
        """Send through ``send`` (one transport send), failing over on 429/503."""
        walk = self._walk(request)
        for _ in walk:
            response = send(request)
            if walk.send(response):
                return response
            # Read and release: the connection goes back to the pool before the resend.
            response.read()
            response.close()
        raise AssertionError("unreachable: the last location's answer is returned")

    async def asend(self, request: Any, send: Callable[[Any], Awaitable[Any]]) -> Any:
        """The async twin of :meth:`send`."""
        walk = self._walk(request)
        for _ in walk:
            response = await send(request)
            if walk.send(response):
                return response
            await response.aread()
            await response.aclose()
        raise AssertionError("unreachable: the last location's answer is returned")


def _record(location: str) -> None:
    holder = _ANSWERED.get()
    if holder is not None:
        holder.location = location
