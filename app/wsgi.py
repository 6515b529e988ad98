"""WSGI entry for production servers: ``gunicorn 'app.wsgi:application'``.

Only the HTTP API runs here; the relay, workers and projection runner run as their own
processes (``lineage relay``, ``lineage worker``, ``lineage projections run``).
"""

from app import create_app
from app.heap import freeze_startup_heap

application = create_app()
freeze_startup_heap()
