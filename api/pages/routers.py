"""Every page router, in the order the app includes them."""

from __future__ import annotations

from fastapi import APIRouter

from api.pages import (
    learner_erasure,
    learner_pages,
    learner_privacy,
    learner_shares,
    share_page,
    verify_page,
)

ROUTERS: tuple[APIRouter, ...] = (
    verify_page.router,
    share_page.router,
    learner_pages.router,
    learner_shares.router,
    learner_privacy.router,
    learner_erasure.router,
)
