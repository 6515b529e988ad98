"""Optional C2PA content credentials for exported PNGs.

``c2pa-python`` is not a dependency of Lineage (it pulls in ``cryptography``, ``requests``
and ``toml`` and a 16 MB native library). Where it is installed and a signing
certificate is configured (``LINEAGE_C2PA_CERT``: PEM chain, leaf first, ES256;
``LINEAGE_C2PA_KEY``: its PKCS#8 PEM key), ``GET /api/versions/{id}/export?c2pa=true``
adds a signed manifest whose ``c2pa.actions`` say how the image was made: the root
generation ``c2pa.created``, each later step ``c2pa.edited``, diffusion steps with the
IPTC digital source type ``trainedAlgorithmicMedia``. Without them that request answers
501 and says what is missing. Signed files are not byte-stable (C2PA stamps a manifest
UUID and signing time), unlike the plain export.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
from pathlib import Path
from typing import Any

from events.errors import DomainError

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
DIFFUSION = ("generate", "img2img", "inpaint", "outpaint", "upscale")


class C2paUnavailable(DomainError):
    """C2PA signing is not set up on this server (library or certificate missing)."""

    status = 501
    title = "Not implemented here"


def manifest_definition(summary: dict[str, Any], software_version: str) -> dict[str, Any]:
    """The C2PA manifest definition of an export, from its lineage summary (see
    interchange/export.py): one action per step of the chain. Pure."""
    actions = []
    for index, step in enumerate(summary["chain"]):
        action: dict[str, Any] = {
            "action": "c2pa.created" if index == 0 else "c2pa.edited",
            "softwareAgent": {"name": "Lineage", "version": software_version},
            "parameters": {"lineage.operation": step["operation"],
                           "lineage.version_id": step["version_id"],
                           "lineage.content_hash": step["content_hash"]},
        }
        if step["operation"] in DIFFUSION:
            action["digitalSourceType"] = TRAINED
        actions.append(action)
    return {
        "claim_generator_info": [{"name": "Lineage", "version": software_version}],
        "title": f"lineage-{summary['version_id']}.png",
        "format": "image/png",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}],
    }


def credentials_from_env() -> tuple[bytes, bytes]:
    """(certificate chain PEM, private key PEM) from LINEAGE_C2PA_CERT/KEY paths;
    C2paUnavailable when the library, a setting or a file is missing."""
    if importlib.util.find_spec("c2pa") is None:
        raise C2paUnavailable("C2PA signing needs the optional c2pa-python package, which "
                              "this server does not have; the plain export works without it")
    cert, key = os.environ.get("LINEAGE_C2PA_CERT"), os.environ.get("LINEAGE_C2PA_KEY")
    if not cert or not key:
        raise C2paUnavailable("C2PA signing needs LINEAGE_C2PA_CERT and LINEAGE_C2PA_KEY "
                              "(PEM files) on the server")
    try:
        return Path(cert).read_bytes(), Path(key).read_bytes()
    except OSError as exc:
        raise C2paUnavailable(f"the C2PA certificate or key cannot be read: {exc}") from exc


def sign_png(png: bytes, manifest: dict[str, Any], cert_chain: bytes, key: bytes) -> bytes:
    """``png`` with a signed C2PA manifest embedded. Raises C2paUnavailable when the
    library is missing and DomainError when signing fails (e.g. a rejected certificate)."""
    try:
        import c2pa  # noqa: PLC0415 - optional dependency, imported only when asked for
    except ImportError as exc:
        raise C2paUnavailable("c2pa-python is not installed") from exc
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", cert_chain, key, None))
        out = io.BytesIO()
        c2pa.Builder(json.dumps(manifest)).sign(signer, "image/png", io.BytesIO(png), out)
    except c2pa.C2paError as exc:
        raise DomainError(f"C2PA signing failed: {exc}") from exc
    return out.getvalue()
