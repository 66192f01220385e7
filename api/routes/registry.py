"""The trust registry over HTTP: the registrar's changes, the public trust list, did:web documents.

Registry routes address an organisation as `{id}`: its slug (`caerleon`), or the stream id
(`urn:uuid:…`) that registering it returned. Every change is one entry of the organisation's stream
and a leaf of the log, so a refused change stores nothing.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Body, Path, Query, Request, Response

from api.auth import Role, roles
from api.problems import problem_responses
from api.schemas.instants import Instant
from api.schemas.registry import (
    AccreditationGrant,
    KeyAddition,
    KeyCompromise,
    KeyRetirement,
    OrganisationCreate,
    OrganisationCreated,
    OrganisationPublic,
    TrustList,
)
from api.state import ledger_of, projections_of
from ledger.application import Ledger
from ledger.errors import LedgerError, UnknownOrganisation
from ledger.registry import Organisation
from ledger.streams import rfc3339, urn, uuid_of
from projections.registry import organisations

router = APIRouter(tags=["registry"])

DID_MEDIA_TYPE = "application/did+json"

OrganisationId = Annotated[
    str, Path(description="the organisation's slug, or its stream id (`urn:uuid:…`)", examples=["caerleon"])
]
KeyId = Annotated[str, Path(description="the key's Multikey (`z6Mk…`)")]

_AUTH = {
    401: "`not-authenticated`: no token, or one the ledger does not know, revoked or saw expire",
    403: "`forbidden`: the token is not a registrar's",
}
_CHANGE = {
    **_AUTH,
    404: "`unknown-organisation`: no organisation has this id",
    422: "`invalid-request`: the body is not of the documented shape (an instant without a time "
    "zone included); `invalid-registry-change`: the registry refuses the change",
}
_KEY_CHANGE = {
    **_CHANGE,
    404: "`unknown-organisation`: no organisation has this id; "
    "`unknown-organisation-key`: the organisation has no such key",
}


class UnknownOrganisationKey(LedgerError):
    """The organisation named in the path has no key named in the path."""

    slug = "unknown-organisation-key"
    status = 404


@router.post(
    "/v1/organisations",
    status_code=201,
    dependencies=[Role("registrar")],
    openapi_extra=roles("registrar"),
    responses=problem_responses(
        {
            **_AUTH,
            409: "`duplicate-organisation`: the slug is taken",
            422: "`invalid-request`: the body is not of the documented shape; "
            "`invalid-registry-change`: a bad slug, an unknown kind or an empty name",
        }
    ),
)
def register_organisation(request: Request, body: OrganisationCreate) -> OrganisationCreated:
    """Register an issuing organisation; its did:web document is served at /orgs/{slug}/did.json."""
    organisation = ledger_of(request).register_organisation(body.slug, body.name, body.kind)
    return OrganisationCreated(id=urn(organisation.id), slug=organisation.slug, did=organisation.did)


@router.post(
    "/v1/organisations/{id}/keys",
    status_code=201,
    dependencies=[Role("registrar")],
    openapi_extra=roles("registrar"),
    responses=problem_responses(
        {
            **_CHANGE,
            409: "`duplicate-key`: the key is already registered, to this or another organisation",
            422: _CHANGE[422] + " (a key that is not an Ed25519 Multikey among them)",
        }
    ),
)
def add_key(request: Request, id: OrganisationId, body: KeyAddition) -> OrganisationPublic:
    """Register an Ed25519 public key for an organisation, usable from valid_from (default now)."""
    ledger = ledger_of(request)
    changed = ledger.add_key(_slug(ledger, id), body.public_key_multibase, body.valid_from)
    return OrganisationPublic.of(changed)


@router.post(
    "/v1/organisations/{id}/keys/{key}/retire",
    dependencies=[Role("registrar")],
    openapi_extra=roles("registrar"),
    responses=problem_responses(_KEY_CHANGE),
)
def retire_key(
    request: Request, id: OrganisationId, key: KeyId, body: Annotated[KeyRetirement | None, Body()] = None
) -> OrganisationPublic:
    """Retire a key from `at` (default now): later credentials are refused, earlier stay valid."""
    ledger = ledger_of(request)
    organisation = _organisation_with_key(ledger, id, key)
    changed = ledger.retire_key(organisation.slug, key, None if body is None else body.at)
    return OrganisationPublic.of(changed)


@router.post(
    "/v1/organisations/{id}/keys/{key}/compromise",
    dependencies=[Role("registrar")],
    openapi_extra=roles("registrar"),
    responses=problem_responses(_KEY_CHANGE),
)
def compromise_key(
    request: Request, id: OrganisationId, key: KeyId, body: KeyCompromise
) -> OrganisationPublic:
    """Mark a key compromised from `at`: nothing it signs dated from then on is accepted."""
    ledger = ledger_of(request)
    organisation = _organisation_with_key(ledger, id, key)
    return OrganisationPublic.of(ledger.compromise_key(organisation.slug, key, body.at))


@router.post(
    "/v1/organisations/{id}/accreditations",
    status_code=201,
    dependencies=[Role("registrar")],
    openapi_extra=roles("registrar"),
    responses=problem_responses(
        {
            **_CHANGE,
            422: _CHANGE[422] + " (unknown kinds, empty scopes, or a window ending before it starts)",
        }
    ),
)
def accredit(request: Request, id: OrganisationId, body: AccreditationGrant) -> OrganisationPublic:
    """Accredit an organisation for credential kinds within qualification scopes over a window."""
    ledger = ledger_of(request)
    changed = ledger.accredit(_slug(ledger, id), body.kinds, body.scopes, body.valid_from, body.valid_until)
    return OrganisationPublic.of(changed)


@router.get(
    "/v1/registry",
    openapi_extra=roles(),
    responses=problem_responses({422: "`invalid-request`: as_of is not an RFC 3339 instant with a zone"}),
)
def trust_list(
    request: Request,
    as_of: Annotated[
        Instant | None,
        Query(description="the registry as the ledger knew it at this RFC 3339 instant; default now"),
    ] = None,
) -> TrustList:
    """The public trust list: organisations, their keys with validity windows, their accreditations."""
    with projections_of(request).store.reading() as view:
        found = organisations(view, as_of)
    return TrustList(
        as_of=None if as_of is None else rfc3339(as_of),
        organisations=[OrganisationPublic.of_view(item) for item in found],
    )


@router.get(
    "/orgs/{slug}/did.json",
    openapi_extra=roles(),
    response_class=Response,
    responses={
        200: {
            "description": "the DID document: every key as a Multikey, the usable ones under assertionMethod",
            "content": {DID_MEDIA_TYPE: {}, "application/json": {}},
        },
        **problem_responses({404: "`unknown-organisation`: no organisation has this slug"}),
    },
)
def did_web_document(request: Request, slug: str) -> Response:
    """The organisation's did:web DID document (did:web:<host>:orgs:<slug> resolves here)."""
    document = ledger_of(request).organisation(slug).did_document()
    # Resolvers read JSON; application/did+json goes to those that ask for it by name.
    wanted = DID_MEDIA_TYPE in request.headers.get("accept", "")
    return Response(
        orjson.dumps(document),
        media_type=DID_MEDIA_TYPE if wanted else "application/json",
        # A public document, fetched by verifiers running in browsers too.
        headers={"Access-Control-Allow-Origin": "*"},
    )


def _slug(ledger: Ledger, organisation: str) -> str:
    """The slug an `{id}` path segment names (a stream id is looked up; a slug is taken as it is)."""
    if not organisation.startswith("urn:uuid:"):
        return organisation
    try:
        found = ledger.find(uuid_of(organisation), Organisation)
    except ValueError:
        found = None
    if found is None:
        raise UnknownOrganisation(f"no organisation is registered as {organisation!r}")
    return found.slug


def _organisation_with_key(ledger: Ledger, organisation: str, key: str) -> Organisation:
    """The organisation an `{id}` names, refusing (404) a key it has never registered."""
    found = ledger.organisation(_slug(ledger, organisation))
    if key not in found.keys:
        raise UnknownOrganisationKey(f"{found.slug} has no key {key}")
    return found
