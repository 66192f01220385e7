"""The pages in a real browser (headless Debian Chromium driven by Playwright), in English and Welsh:
verify a genuine, an altered and a revoked bundle and read the verdicts; a learner signs in, shares,
the share opens in a fresh browser, the visit shows on the learner's access page, the share is
revoked, and then says so. axe-core checks every page in every state, at desktop and phone width;
screenshots go to build/screenshots.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.pages.i18n import language
from api.pages.share_page import REVOKED
from api.pages.verdict_messages import VERDICTS
from tests.e2e.pages_site import CHROMIUM, CHROMIUM_FLAGS, Site, check_page, require_browser, serve_demo

LANGUAGES = ("en", "cy")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo ledger, served on localhost for this module's tests."""
    require_browser()
    yield from serve_demo(tmp_path_factory.mktemp("pages") / "demo")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), launched once for the module."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def fresh_page(browser: Any, code: str) -> Any:
    """A page in a new browser context (no cookies), speaking `code`. CSP is bypassed only so that
    the test can inject axe-core; the pages' own policy forbids inline scripts."""
    context = browser.new_context(bypass_csp=True, locale="en-GB" if code == "en" else "cy-GB")
    return context.new_page()


def text(code: str, message: str) -> str:
    """A catalogue message in the language `code`."""
    return language(code).gettext(message)


def credential_in_state(site: Site, state: str) -> tuple[str, str]:
    """A demo credential in `state` (valid, superseded, revoked) and its learner's token."""
    with site.api(site.summary["tokens"]["auditor"]) as auditor:
        for item in site.summary["credentials"]:
            answer = auditor.get(f"/v1/credentials/{item['id']}")
            if answer.status_code == 200 and answer.json()["index"]["status"] == state:
                return item["id"], site.summary["tokens"]["learners"][item["learner"]]
    raise AssertionError(f"the demo has no credential in state {state}")


def bundle_file(site: Site, state: str, folder: Path, *, alter: bool = False) -> Path:
    """The proof bundle of a demo credential in `state`, saved as a file (its subject altered)."""
    credential, token = credential_in_state(site, state)
    with site.api(token) as learner:
        answer = learner.get(f"/v1/credentials/{credential}/bundle")
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    if alter:
        subject = bundle["credential"]["credentialSubject"]
        subject["result"] = [{"type": "Result", "value": "First"}]
    path = folder / f"{state}{'-altered' if alter else ''}.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


@pytest.mark.parametrize("code", LANGUAGES)
def test_verify_page_reads_each_verdict(site: Site, browser: Any, tmp_path: Path, code: str) -> None:
    page = fresh_page(browser, code)
    page.goto(f"{site.url}/verify?lang={code}")
    assert page.locator("html").get_attribute("lang") == code
    check_page(page, f"verify-form-{code}")
    page.click("button[type=submit]")  # nothing chosen: a clear error, nothing else
    assert page.locator(".error-summary").is_visible()
    check_page(page, f"verify-empty-{code}")
    cases = [
        ("genuine", bundle_file(site, "valid", tmp_path)),
        ("altered", bundle_file(site, "valid", tmp_path, alter=True)),
        ("revoked", bundle_file(site, "revoked", tmp_path)),
        ("superseded", bundle_file(site, "superseded", tmp_path)),
    ]
    for state, path in cases:
        page.goto(f"{site.url}/verify")
        page.set_input_files("#file", str(path))
        page.click("button[type=submit]")
        verdict = page.locator(".verdict")
        assert verdict.get_attribute("data-state") == state
        title = text(code, VERDICTS[state][0])
        assert title in verdict.locator(".verdict-title").inner_text()
        assert text(code, VERDICTS[state][1]) in verdict.inner_text()
        if code == "cy":
            assert title != VERDICTS[state][0], "the Welsh page must not fall back to English"
        check_page(page, f"verify-{state}-{code}")
    page.context.close()


@pytest.mark.parametrize("code", LANGUAGES)
def test_learner_shares_and_revokes(site: Site, browser: Any, code: str) -> None:
    _, token = site.learner(0)
    page = fresh_page(browser, code)
    page.goto(f"{site.url}/sign-in?lang={code}")
    check_page(page, f"sign-in-{code}")
    page.fill("#token", "llt_not-a-real-token")
    page.click("main button[type=submit]")
    assert page.locator(".error-summary").is_visible()
    check_page(page, f"sign-in-refused-{code}")
    page.fill("#token", token)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{site.url}/me")
    check_page(page, f"record-{code}")
    page.locator(".card h3 a").first.click()
    page.wait_for_url(f"{site.url}/me/credentials/*")
    check_page(page, f"credential-{code}")

    page.goto(f"{site.url}/me/shares")
    check_page(page, f"shares-{code}")
    audience = f"Severn Software ({code})"
    page.fill("#audience", audience)
    page.check("#scope-chosen")
    page.check("#credential-1")
    page.click("form[action='/me/shares'] button[type=submit]")
    link = page.input_value("#share-link")
    assert "/s/" in link
    check_page(page, f"share-created-{code}")

    verifier = fresh_page(browser, code)
    verifier.goto(link)
    assert verifier.locator(".verdict").count() == 1
    check_page(verifier, f"shared-record-{code}")

    page.goto(f"{site.url}/me")
    page.click("a[href='/me/access']")
    page.wait_for_url(f"{site.url}/me/access")
    assert page.locator("tr", has_text=audience).count() == 1  # the verifier's visit, just now
    check_page(page, f"access-log-{code}")
    page.click("a[href='/me/erasure']")
    page.wait_for_url(f"{site.url}/me/erasure")
    page.click("form[action='/me/erasure'] button[type=submit]")  # not confirmed: refused, explained
    assert page.locator(".error-summary").is_visible()
    check_page(page, f"erasure-{code}")

    page.goto(f"{site.url}/me/shares")
    row = page.locator("tr", has_text=audience)
    row.locator("button[type=submit]").click()
    page.wait_for_url(f"{site.url}/me/shares?done=revoked")
    assert page.locator(".notice").is_visible()
    check_page(page, f"shares-after-revoke-{code}")

    answer = verifier.goto(link)
    assert answer is not None and answer.status == 410
    assert verifier.locator("h1").inner_text() == text(code, REVOKED[0])
    check_page(verifier, f"shared-record-revoked-{code}")
    verifier.context.close()
    page.context.close()


@pytest.mark.parametrize("code", LANGUAGES)
def test_unknown_pages_and_links_are_accessible(site: Site, browser: Any, code: str) -> None:
    page = fresh_page(browser, code)
    answer = page.goto(f"{site.url}/s/not-a-share-link?lang={code}")
    assert answer is not None and answer.status == 404
    check_page(page, f"share-unknown-{code}")
    answer = page.goto(f"{site.url}/no-such-page")
    assert answer is not None and answer.status == 404
    check_page(page, f"not-found-{code}")
    page.context.close()


def test_axe_harness_finds_a_known_violation(browser: Any) -> None:
    """The accessibility checks can fail: an image without alt text and an unlabelled field are found."""
    from tests.e2e.pages_site import axe_violations

    page = fresh_page(browser, "en")
    page.set_content(
        '<html lang="en"><title>t</title><main><img src="x.png"><input type="text"></main></html>'
    )
    found = " ".join(axe_violations(page))
    assert "image-alt" in found and "label" in found
    page.context.close()
