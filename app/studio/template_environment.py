"""The Jinja environment the pages render with: Flask's, with a faster ``a.b`` on dicts.

The read side hands pages plain dicts, and Jinja's ``getattr`` (what ``node.version_id``
compiles to) first asks the dict for an attribute, which raises and is caught, before
it reads the key. A 200-version asset page does that some 4,000 times. Reading the key
first gives the same answer: on a plain dict only ``dir(dict)`` names are attributes
(``items``, ``get``...), and those still go the usual way, so ``approved.items()`` is
the method even where a channel is named "items".
"""

from __future__ import annotations

from typing import Any

from flask.templating import Environment

DICT_ATTRIBUTES = frozenset(dir(dict))


class StudioEnvironment(Environment):
    """Flask's Jinja environment; ``a.b`` on a plain dict reads key ``b`` first."""

    def getattr(self, obj: Any, attribute: str) -> Any:  # noqa: ANN401 - Jinja's contract
        if type(obj) is dict and attribute not in DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)
