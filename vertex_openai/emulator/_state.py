"""Shared mutable state of one emulator: keys, tokens, counters, faults, recordings.

Touched from the test thread and from the server's event-loop thread, so every
mutation goes through ``self.lock``.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from vertex_openai.emulator._config import EmulatorConfig

TOKEN_PREFIX = "ya29.emu-"
GRANT_KINDS = ("jwt-bearer", "refresh_token", "metadata", "impersonation")

# Fault kinds and their aliases.
FAULT_ALIASES = {
    "429": "rate_limit",
    "resource_exhausted": "rate_limit",
    "rate_limit": "rate_limit",
    "500": "internal",
    "internal": "internal",
    "503": "unavailable",
    "unavailable": "unavailable",
    "drop": "drop",
    "drop_connection": "drop",
    "stall": "stall",
    "malformed_json": "malformed_json",
    "truncate": "truncate",
    "truncated_sse": "truncate",
    "token_outage": "token_outage",
    "revoke": "revoke",
    "403": "permission_denied",
    "permission_denied": "permission_denied",
}
FAULT_KINDS = tuple(sorted(set(FAULT_ALIASES.values())))


def canonical_fault(kind: str) -> str:
    try:
        return FAULT_ALIASES[kind.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}") from None


def token_id_of(token: str) -> str:
    """Stable short id of a token (never the token itself)."""
    return "tok-" + hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass
class TokenRecord:
    token_id: str
    kind: str
    expiry: float
    revoked: bool = False


@dataclass
class RecordedRequest:
    """One request to a Vertex route (chat, endpoint resource), secrets redacted."""

    method: str
    path: str
    query: dict[str, str]
    host: str
    headers: dict[str, str]
    json: Any
    auth_kind: str | None = None
    """"bearer", "api_key" or None (no/invalid credentials)."""
    token_id: str | None = None
    token_remaining_s: float | None = None
    status: int | None = None
    fault: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "host": self.host,
            "headers": self.headers,
            "json": self.json,
            "auth_kind": self.auth_kind,
            "token_id": self.token_id,
            "token_remaining_s": self.token_remaining_s,
            "status": self.status,
            "fault": self.fault,
        }


@dataclass
class Fault:
    kind: str
    count: int
    params: dict[str, Any] = field(default_factory=dict)


class EmulatorState:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.tokens: dict[str, TokenRecord] = {}
        self.token_grants: dict[str, int] = dict.fromkeys(GRANT_KINDS, 0)
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.location_counts: dict[str, int] = {}
        self.token_outage_remaining = 0
        self.refresh_token_revoked = False
        self.api_key = "AQ.Ab8R" + secrets.token_urlsafe(40)
        self.client_id = "764086051850-emulator.apps.googleusercontent.com"
        self.client_secret = "d-emulator-" + secrets.token_urlsafe(12)
        self.refresh_token = "1//emu-" + secrets.token_urlsafe(32)
        self.signature_secret = secrets.token_bytes(32)
        self.port = 0

    # -- tokens ----------------------------------------------------------------
    def issue_token(self, kind: str, lifetime: float | None = None) -> tuple[str, float]:
        life = self.config.token_lifetime if lifetime is None else float(lifetime)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = TokenRecord(token_id_of(token), kind, time.time() + life)
            if kind in self.token_grants:
                self.token_grants[kind] += 1
        return token, life

    def check_token(self, token: str) -> tuple[TokenRecord | None, str]:
        """Return (record, reason); record is None when the token is not usable."""
        with self.lock:
            rec = self.tokens.get(token)
        if rec is None:
            return None, "unknown"
        if rec.revoked:
            return None, "revoked"
        # No grace: a token is refused from the instant it expires.
        if rec.expiry <= time.time():
            return None, "expired"
        return rec, "ok"

    def revoke_all_tokens(self) -> int:
        with self.lock:
            n = 0
            for rec in self.tokens.values():
                if not rec.revoked:
                    rec.revoked = True
                    n += 1
            return n

    @property
    def token_refresh_count(self) -> int:
        with self.lock:
            return sum(self.token_grants.values())

    # -- faults ----------------------------------------------------------------
    def add_fault(self, kind: str, count: int = 1, **params: Any) -> None:
        kind = canonical_fault(kind)
        with self.lock:
            if kind == "token_outage":
                self.token_outage_remaining += count
                return
            if kind == "revoke":
                self.revoke_all_tokens()
                return
            self.faults.append(Fault(kind, count, dict(params)))

    def take_fault(self) -> Fault | None:
        with self.lock:
            while self.faults:
                fault = self.faults[0]
                if fault.count <= 0:
                    self.faults.pop(0)
                    continue
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.pop(0)
                return Fault(fault.kind, 1, dict(fault.params))
            return None

    def location_fault(self, location: str) -> Fault | None:
        """The fault ``config.location_behaviour`` sets for this request to ``location``."""
        entry = self.config.location_behaviour.get(location)
        if entry is None:
            return None
        with self.lock:
            n = self.location_counts.get(location, 0)
            self.location_counts[location] = n + 1
        share = entry["share"]
        # Request n (from 0) is hit when the running count of hits, floor(n * share),
        # steps up: `share` of the requests, evenly spread and reproducible.
        if int((n + 1) * share) == int(n * share):
            return None
        kind = entry["kind"]
        if kind == "ok":
            return None
        params: dict[str, Any] = {}
        if "retry_after" in entry:
            params["retry_after"] = entry["retry_after"]
        if kind == "stream_cut":
            if "after_chunks" in entry:
                params["after_chunks"] = entry["after_chunks"]
            return Fault("drop", 1, params)
        return Fault("rate_limit" if kind == "quota" else "unavailable", 1, params)

    def take_token_outage(self) -> bool:
        with self.lock:
            if self.token_outage_remaining > 0:
                self.token_outage_remaining -= 1
                return True
            return False

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.location_counts.clear()
            self.token_outage_remaining = 0
            self.token_grants = dict.fromkeys(GRANT_KINDS, 0)
            self.refresh_token_revoked = False

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "token_grants": dict(self.token_grants),
                "token_refresh_count": sum(self.token_grants.values()),
                "requests": len(self.requests),
                "pending_faults": [
                    {"kind": f.kind, "count": f.count, "params": f.params} for f in self.faults
                ],
                "token_outage_remaining": self.token_outage_remaining,
                "live_tokens": sum(
                    1 for r in self.tokens.values() if not r.revoked and r.expiry > time.time()
                ),
            }
