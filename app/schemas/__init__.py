"""Marshmallow schemas of the HTTP API: request bodies refuse unknown fields (RAISE)."""
