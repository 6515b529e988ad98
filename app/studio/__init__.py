"""The review studio: server-rendered pages beside the JSON API, on the same app.

Each area is a module with its own blueprint (listed in :data:`BLUEPRINTS`); pages are
Jinja templates over the same query functions the API's GET routes call, and their
widgets are small ES modules under ``static/`` (no build step). To add a panel to the
asset or version page, see :mod:`app.studio.panels`.
"""

from __future__ import annotations

from flask import Flask

from app.studio import (
    asset_views,
    audit_views,
    board_views,
    compare_views,
    formatting,
    guest_views,
    making_dashboard,
    making_edits,
    making_generate,
    making_jobs,
    making_templates,
    project_settings,
    review_forms,
    sharing_views,
    signin_views,
    static_files,
    version_views,
)
from app.studio.forms import new_form_key
from app.studio.strip_tiles import PIN_ICON
from app.studio.text import finalize
from app.studio.web import image_url

BLUEPRINTS = (static_files, signin_views, board_views, asset_views, compare_views,
              version_views, audit_views, review_forms, sharing_views, guest_views,
              making_jobs, making_edits, making_dashboard, making_generate,
              making_templates, project_settings)


def register(app: Flask) -> None:
    """Add the studio's pages, filters and static files to ``app``."""
    app.jinja_env.finalize = finalize
    app.jinja_env.filters.update(when=formatting.when, ago=formatting.ago,
                                 duration=formatting.duration,
                                 status_label=formatting.status_label,
                                 template_parts=making_templates.template_parts)
    app.jinja_env.globals.update(new_form_key=new_form_key, image_url=image_url,
                                 status_labels=formatting.STATUS_LABELS,
                                 pin_icon_svg=PIN_ICON,
                                 asset_job_cards=making_jobs.job_cards,
                                 making_policy=making_jobs.policy_lines)
    for module in BLUEPRINTS:
        app.register_blueprint(module.blueprint)
