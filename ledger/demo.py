"""The scripted demo: a small ledger with every kind of issuer, a few learners and their records."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.markup import escape

from ledger import bootstrap, examples
from ledger.application import Ledger
from ledger.bundles import build_bundle
from ledger.errors import ConfigurationError, LedgerError, describe
from ledger.indexes import CredentialClaim, credential_claim_id
from ledger.keyfile import write_key_file
from ledger.posting import post_batch
from ledger.settings import Settings
from verification.keys import SigningKey

MARKER = "demo.json"
SINCE = datetime(2015, 1, 1, tzinfo=UTC)
ORGANISATIONS = [
    # slug, name, kind, accredited kinds, scopes
    ("wjec", "WJEC", "awarding-body", ["assessment", "award"], ["RQF", "CQFW"]),
    ("caerleon", "University of Caerleon", "university", ["enrolment", "award"], ["FHEQ"]),
    ("ucas", "UCAS", "admissions-body", ["admission"], ["*"]),
    ("severn-software", "Severn Software Ltd", "employer", ["recruitment"], ["*"]),
]
LEARNERS = [
    ("9276308686", "Carys Pritchard", "2003-05-14"),
    ("1000000019", "Dafydd Evans", "2002-11-02"),
    ("4817203918", "Amara Okafor", "2003-01-23"),
]


@dataclass
class DemoIssuer:
    """A demo organisation and its key."""

    slug: str
    did: str
    key: SigningKey


def run_demo(data_dir: Path, console: Console, base_url: str = "http://localhost:8000") -> dict[str, Any]:
    """Build the demo ledger in `data_dir` (replacing an earlier demo there) and print its streams.

    Writes `demo.json`: the base URL, a token for every demo actor, the organisations (with their
    key files) and learners, every recorded credential, the log's verifier key, and one unsigned
    example credential per kind that the demo issuer of that kind could sign and post.
    """
    if data_dir.exists():
        if not (data_dir / MARKER).exists() and any(data_dir.iterdir()):
            raise ConfigurationError(
                f"{data_dir} holds something other than a demo ledger; choose another folder"
            )
        shutil.rmtree(data_dir)
    settings = Settings(data_dir=data_dir, database_url="", mode="development", public_url=base_url)
    bootstrap.init(settings)
    ledger = bootstrap.open_ledger(settings)
    try:
        summary = {"base_url": base_url, **_populate(ledger, data_dir, console)}
    finally:
        ledger.close()
    (data_dir / MARKER).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    console.print(f"\n[bold]demo ledger[/] in {data_dir}; summary in {data_dir / MARKER}")
    console.print(f"try: ledger stream {summary['learners'][0]['id']} --data-dir {data_dir}")
    return summary


def _populate(ledger: Ledger, data_dir: Path, console: Console) -> dict[str, Any]:
    from ledger.cli import print_stream

    console.rule("registrar: organisations, keys, accreditations")
    issuers: dict[str, DemoIssuer] = {}
    for slug, name, kind, kinds, scopes in ORGANISATIONS:
        key = SigningKey.generate()
        write_key_file(data_dir / f"{slug}.key.json", key)
        org = ledger.register_organisation(slug, name, kind)
        ledger.add_key(slug, key.verify_key.multibase, valid_from=SINCE)
        ledger.accredit(slug, kinds, scopes, valid_from=SINCE)
        issuers[slug] = DemoIssuer(slug, org.did, key)
        console.print(f"• {name} ({kind}) {org.did}: {', '.join(kinds)} in {', '.join(scopes)}")

    console.rule("registrar: learners")
    learners = []
    for uln, name, dob in LEARNERS:
        learner = ledger.register_learner(uln, name, dob)
        learners.append({"id": learner, "name": name})
        console.print(f"• {name}: {learner} (ULN kept encrypted)")

    console.rule("issuers: signed credentials, posted in one batch")
    wjec, uni, ucas, employer = (issuers[slug] for slug, *_ in ORGANISATIONS)
    first, second, third = (item["id"] for item in learners)
    maths = examples.assessment(wjec.did, first, result="A", title="A level Mathematics")
    documents = [
        examples.sign(maths, wjec.key),
        examples.sign(examples.assessment(wjec.did, second, result="B", title="A level Physics"), wjec.key),
        examples.sign(examples.assessment(wjec.did, third, result="A*", title="A level Chemistry"), wjec.key),
        examples.sign(examples.admission(ucas.did, first), ucas.key),
        examples.sign(examples.enrolment(uni.did, first), uni.key),
        examples.sign(examples.award(uni.did, first), uni.key),
        examples.sign(examples.employment(employer.did, first), employer.key),
    ]
    credentials = _post(ledger, documents, console)

    console.rule("corrections and revocations: new signed statements, nothing edited")
    remarked = examples.assessment(wjec.did, first, result="A*", title="A level Mathematics")
    correction = examples.status(
        wjec.did,
        first,
        action="supersedes",
        names=maths["id"],
        reason="grade raised on review of marking",
        replaced_by=remarked["id"],
    )
    revocation = examples.status(
        wjec.did,
        second,
        action="revokes",
        names=documents[1]["id"],
        reason="result withdrawn after a malpractice finding",
    )
    credentials += _post(
        ledger, [examples.sign(remarked, wjec.key), examples.sign(correction, wjec.key)], console
    )
    credentials += _post(ledger, [examples.sign(revocation, wjec.key)], console)

    console.rule("refused, as it must be: an employer cannot post an award")
    forged = examples.sign(examples.award(employer.did, third), employer.key)
    _post(ledger, [forged], console)

    console.rule("the learners' streams, re-checked")
    for item in learners:
        print_stream(ledger.read_stream(item["id"]))
    ledger.tlog.integrate_all()
    checkpoint = ledger.tlog.sign_checkpoint(force=True)
    assert checkpoint is not None
    console.rule("the transparency log")
    console.print(f"{checkpoint.size} entries are leaves of the log; its signed checkpoint:")
    console.print(checkpoint.note, markup=False, highlight=False, soft_wrap=True)
    _write_bundles(ledger, credentials, data_dir / "bundles")
    console.print(f"a proof bundle of every credential, to try on the verify page: {data_dir / 'bundles'}")
    examples_by_kind = {
        "assessment": examples.assessment(wjec.did, first),
        "award": examples.award(uni.did, first),
        "enrolment": examples.enrolment(uni.did, first),
        "admission": examples.admission(ucas.did, first),
        "recruitment": examples.employment(employer.did, first),
    }
    return {
        "log_verifier_key": ledger.tlog.signer.verifier_key,
        "tokens": _tokens(ledger, issuers, learners),
        "examples": {
            kind: {"issuer": document["issuer"], "credential": document}
            for kind, document in examples_by_kind.items()
        },
        "credentials": credentials,
        "organisations": [
            {"slug": i.slug, "did": i.did, "key_file": str(data_dir / f"{i.slug}.key.json")}
            for i in issuers.values()
        ],
        "learners": learners,
    }


def _write_bundles(ledger: Ledger, credentials: list[dict[str, Any]], folder: Path) -> None:
    """Each recorded credential's proof bundle as `<n>-<kind>-<state>.json`, for the verify page."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, item in enumerate(credentials, start=1):
        bundle = build_bundle(ledger, item["id"])
        claim = ledger.find(credential_claim_id(item["id"]), CredentialClaim)
        state = claim.state if claim is not None else "unknown"
        path = folder / f"{number:02d}-{item['kind']}-{state}.json"
        path.write_bytes(orjson.dumps(bundle, option=orjson.OPT_INDENT_2))


def _tokens(ledger: Ledger, issuers: dict[str, DemoIssuer], learners: list[dict[str, Any]]) -> dict[str, Any]:
    """A token for every demo actor (demo only: real tokens are handed out one by one)."""
    return {
        "registrar": ledger.tokens.create("registrar", label="demo registrar")[0],
        "auditor": ledger.tokens.create("auditor", label="demo auditor")[0],
        "issuers": {
            slug: ledger.tokens.create("issuer", organisation=slug, label=f"demo {slug}")[0]
            for slug in issuers
        },
        "learners": {
            item["id"]: ledger.tokens.create("learner", learner=item["id"], label=f"demo {item['name']}")[0]
            for item in learners
        },
    }


def _post(ledger: Ledger, documents: list[dict[str, Any]], console: Console) -> list[dict[str, Any]]:
    """Post a batch, print a line per result, return what was recorded."""
    recorded = []
    for document, result in zip(documents, post_batch(ledger, documents), strict=True):
        label = f"{document['type'][-1]} from {document['issuer'].rsplit(':', 1)[-1]}"
        if isinstance(result, LedgerError):
            console.print(f"  [red]refused[/] {label}: {escape(describe(result))}")
        else:
            console.print(f"  [green]recorded[/] {label} as {result.entry['kind']} #{result.entry['seq']}")
            recorded.append(
                {"id": document["id"], "kind": result.entry["kind"], "learner": result.entry["learner"]}
            )
    return recorded
