"""HTTP API blueprints, one module per area (views stay thin; see STYLE.md); all are
registered in app/api/routes.py."""
