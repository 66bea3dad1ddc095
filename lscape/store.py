"""Results store: finished work saved under keys derived from its full configuration.

Every record is written to a temporary file in the same folder and renamed
into place, so a reader never sees a partial file and an interrupted grid
resumes from what had finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

FORMAT_VERSION = 1  # bump when the meaning of a stored record changes


def default_results_dir() -> Path:
    """Return ``$LSCAPE_RESULTS_DIR``, else ``<cache>/results`` (see :func:`lscape.data.default_cache_dir`)."""
    root = os.environ.get("LSCAPE_RESULTS_DIR")
    if root:
        return Path(root).expanduser()
    from lscape.data import default_cache_dir

    return default_cache_dir() / "results"


def config_key(config: Any) -> str:
    """Return a 16-hex-digit key for a JSON-serialisable configuration.

    Keys are computed from canonical JSON (sorted keys), so equal settings
    give equal keys whatever the order they were given in.
    """
    text = json.dumps({"format": FORMAT_VERSION, "config": config}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


class Store:
    """A folder of finished records: JSON metrics and ``torch.save`` checkpoints.

    Layout: ``<root>/<kind>/<key>.json`` for metrics and
    ``<root>/<kind>/<key>.pt`` for checkpoints. Temporary files start with a
    dot and end in ``.tmp``; they are never read.
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser() if root is not None else default_results_dir()

    def path(self, kind: str, key: str, suffix: str = ".json") -> Path:
        """Return the file of record ``key`` of ``kind``."""
        return self.root / kind / f"{key}{suffix}"

    def has(self, kind: str, key: str, suffix: str = ".json") -> bool:
        """Return whether the record exists."""
        return self.path(kind, key, suffix).exists()

    def read_json(self, kind: str, key: str) -> dict | None:
        """Return the JSON record or None when it does not exist."""
        path = self.path(kind, key)
        if not path.exists():
            return None
        with open(path) as stream:
            return json.load(stream)

    def write_json(self, kind: str, key: str, record: dict) -> None:
        """Store a JSON record atomically."""
        text = json.dumps(record, sort_keys=True, indent=1, allow_nan=True)
        atomic_write_bytes(self.path(kind, key), text.encode())

    def read_checkpoint(self, kind: str, key: str) -> dict | None:
        """Return a stored checkpoint dict, or None."""
        path = self.path(kind, key, ".pt")
        if not path.exists():
            return None
        return torch.load(path, map_location="cpu", weights_only=True)

    def write_checkpoint(self, kind: str, key: str, checkpoint: dict) -> None:
        """Store a checkpoint dict atomically."""
        import io

        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write_bytes(self.path(kind, key, ".pt"), buffer.getvalue())
