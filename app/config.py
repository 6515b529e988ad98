"""Configuration from environment variables, with the embedded defaults."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting Lineage reads; README's configuration table lists the same names."""

    data_dir: Path
    database_url: str
    broker_url: str | None
    max_upload_bytes: int
    max_image_pixels: int
    max_side: int
    max_prompt_chars: int
    embedded_worker_threads: int
    trusted_proxies: int = 0
    """Reverse proxies in front of Lineage that append to X-Forwarded-For (0: none, the
    socket's address is the client's)."""

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        data_dir = Path(os.environ.get("LINEAGE_DATA_DIR", "./var"))
        values: dict[str, object] = {
            "data_dir": data_dir,
            "database_url": os.environ.get("LINEAGE_DATABASE_URL")
            or f"sqlite:///{data_dir / 'lineage.db'}",
            "broker_url": os.environ.get("LINEAGE_BROKER_URL") or None,
            "max_upload_bytes": _int("LINEAGE_MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
            "max_image_pixels": _int("LINEAGE_MAX_IMAGE_PIXELS", 4096 * 4096),
            "max_side": _int("LINEAGE_MAX_SIDE", 2048),
            "max_prompt_chars": _int("LINEAGE_MAX_PROMPT_CHARS", 2000),
            "embedded_worker_threads": _int("LINEAGE_WORKER_THREADS", 2),
            "trusted_proxies": _int("LINEAGE_TRUSTED_PROXIES", 0),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"
