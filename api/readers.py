"""Who reads a credential: a token's principal, a share grant, or both; what each may see, and
which reads go into the learner's access log.

Its issuer's tokens, its learner's token, auditors, and whoever holds a live share grant of its
learner that covers it may read a credential. To anyone else it does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from api.auth import optional_principal, share_of
from ledger.application import Ledger
from ledger.shares import ShareGrant
from ledger.tokens import Forbidden, NotAuthenticated, Principal

READERS = ("issuer", "learner", "auditor")
"""The token roles that may read credentials (besides a share grant's holder)."""


def own_did(ledger: Ledger, principal: Principal) -> str:
    """The DID of the organisation an issuer token acts for."""
    if principal.organisation is None:
        raise Forbidden("this issuer token names no organisation")
    return ledger.organisation(principal.organisation).did


@dataclass(frozen=True)
class Reader:
    """Who asks to read a credential: a token's principal, a share grant, or both."""

    principal: Principal | None
    grant: ShareGrant | None

    def may_see(self, ledger: Ledger, credential: str, learner: str, issuer: str) -> bool:
        """True when the token or the share lets its holder see this credential."""
        if self.grant is not None and self.grant.learner == learner and self.grant.covers(credential):
            return True
        role = None if self.principal is None else self.principal.role
        if role == "issuer" and self.principal is not None:
            return own_did(ledger, self.principal) == issuer
        if role == "learner" and self.principal is not None:
            return self.principal.learner == learner
        return role == "auditor"

    def log_read(self, ledger: Ledger, credential: str, learner: str, what: str) -> None:
        """Record an answered read in the learner's access log: through the share, or by an auditor."""
        principal = self.principal
        if principal is not None and principal.role == "learner" and principal.learner == learner:
            return  # the learner's own reads are not logged
        if self.grant is not None and self.grant.learner == learner and self.grant.covers(credential):
            ledger.access_log.by_share(self.grant, what)
        elif principal is not None and principal.role == "auditor":
            ledger.access_log.by_auditor(learner, principal.token_id, what)


def reader_of(request: Request, credential: str) -> Reader:
    """The reader, refused at once (401, 403) when who they are already rules them out."""
    principal = optional_principal(request)
    grant = share_of(request)
    if principal is None and grant is None:
        raise NotAuthenticated(
            "this needs a token (`Authorization: Bearer <token>`) or a share link (`?share=<secret>`)"
        )
    if grant is None and principal is not None and principal.role not in READERS:
        raise Forbidden(
            f"reading credentials needs an issuer, learner or auditor token, not {principal.role}"
        )
    if principal is None and grant is not None and not grant.covers(credential):
        raise Forbidden(f"this share does not cover {credential}; ask the learner to share it")
    return Reader(principal, grant)
