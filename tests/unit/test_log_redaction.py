"""The access log's redaction: its quick check for text that cannot hold a share secret changes nothing."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from api.log_redaction import redact

SECRET_IN_URL = re.compile(r"(/v1/shares/|/s/|[?&]share=)[^/?&#\s\"]+")
"""The redaction's pattern, as written in api/log_redaction.py."""

PIECES = st.sampled_from(["/", "/s", "/s/", "/v1/shares/", "share=", "?", "&", "#", " ", '"', "a", "Z9", "é"])


@given(st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=12).map("".join))
def test_redact_is_the_pattern_substituted(text: str) -> None:
    assert redact(text) == SECRET_IN_URL.sub(r"\1[redacted]", text)


def test_share_secrets_are_redacted_and_other_paths_kept() -> None:
    assert redact("/v1/shares/abc123/items?x=1") == "/v1/shares/[redacted]/items?x=1"
    assert redact("/s/abc123") == "/s/[redacted]"
    assert redact("/v1/learners/me?share=abc&y=2") == "/v1/learners/me?share=[redacted]&y=2"
    assert redact('%s - "%s %s HTTP/%s" %d') == '%s - "%s %s HTTP/%s" %d'
    assert redact("/v1/verify") == "/v1/verify"
