"""Access to the running app's services from views (no globals at import time)."""

from __future__ import annotations

from flask import current_app

from app.services import Services


def services() -> Services:
    return current_app.extensions["lineage"]
