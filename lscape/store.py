"""Results store: finished work saved under keys derived from its full configuration.

Every record is written to a temporary file in the same folder and renamed
into place, so a reader never sees a partial file and an interrupted grid
resumes from what had finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from lscape.validation import (
    check_float, check_optional_path, check_path, check_str, check_type, parameter_error,
)

FORMAT_VERSION = 1  # bump when the meaning of a stored record changes
FORMAT_FIELD = "lscape_format"


class StoreFormatError(RuntimeError):
    """A stored record cannot be read: written in another store format, or damaged."""


def _check_format(found: Any, path: Path) -> None:
    if found != FORMAT_VERSION:
        raise StoreFormatError(
            f"{path} was written in results-store format {found!r}, but this lscape ({_version()}) "
            f"reads format {FORMAT_VERSION} only. Upgrade lscape to read it, or point results_dir "
            f"at another folder."
        )


def _damaged(path: Path, error: Exception) -> str:
    return (
        f"{path} is damaged and cannot be read ({type(error).__name__}: {error}). lscape writes records "
        f"atomically, so it was changed or cut by something else. Delete it and run the grid again to "
        f"recompute it."
    )


def _version() -> str:
    from lscape import __version__

    return __version__


def provenance(device: str, seconds: float | None = None) -> dict:
    """Return where and how a record was computed: versions, device, host, time.

    Stored with every record of a run or a pair, beside the settings and
    seeds that its key is computed from.
    """
    if not isinstance(device, (str, torch.device)):
        raise parameter_error("provenance()", "device", "a device name (str) or a torch.device", device)
    if seconds is not None:
        check_float(seconds, "seconds", "provenance()", 0.0)
    record = {
        "lscape": _version(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if str(device).startswith("cuda") and torch.cuda.is_available():
        record["device_name"] = torch.cuda.get_device_name(torch.device(device))
    if seconds is not None:
        record["wall_seconds"] = seconds
    return record


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

    Raises
    ------
    ParameterError
        If ``json.dumps`` cannot serialise ``config`` (e.g. a numpy integer,
        a path or an arbitrary object). Converting such values to text here
        would make keys depend on their ``str()`` form.
    """
    try:
        text = json.dumps({"format": FORMAT_VERSION, "config": config}, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise parameter_error(
            "config_key()", "config", "JSON-serialisable data (dict, list, str, int, float, bool or None)", config,
            f"json.dumps failed: {error}. Convert numpy scalars with int() or float() and paths with str().",
        ) from None
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def shared_file_mode() -> int:
    """Return the mode a new file gets under the process's umask (``0o666 & ~umask``).

    ``tempfile.mkstemp`` creates files readable by their owner only, and the
    rename keeps that mode. Setting this mode instead lets the collaborators
    that the umask admits read a shared store.
    """
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(check_path(path, "path", "atomic_write_bytes()"))
    check_type(data, "data", "atomic_write_bytes()", bytes, "bytes")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, shared_file_mode())
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
        root = check_optional_path(root, "root", "Store()")
        self.root = Path(root).expanduser() if root is not None else default_results_dir()

    def path(self, kind: str, key: str, suffix: str = ".json") -> Path:
        """Return the file of record ``key`` of ``kind``."""
        check_str(kind, "kind", "Store.path()")
        check_str(key, "key", "Store.path()")
        check_str(suffix, "suffix", "Store.path()")
        return self.root / kind / f"{key}{suffix}"

    def has(self, kind: str, key: str, suffix: str = ".json") -> bool:
        """Return whether the record exists."""
        return self.path(kind, key, suffix).exists()

    def read_json(self, kind: str, key: str) -> dict | None:
        """Return the JSON record or None when it does not exist.

        Raises
        ------
        StoreFormatError
            If the record was written in another store format (a newer lscape).
        """
        path = self.path(kind, key)
        if not path.exists():
            return None
        try:
            with open(path) as stream:
                record = json.load(stream)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise StoreFormatError(_damaged(path, error)) from None
        # Records written before the field existed are format 1.
        _check_format(record.pop(FORMAT_FIELD, 1), path)
        return record

    def write_json(self, kind: str, key: str, record: dict) -> None:
        """Store a JSON record atomically, tagged with the store format."""
        check_type(record, "record", "Store.write_json()", dict, "a dict")
        text = json.dumps({**record, FORMAT_FIELD: FORMAT_VERSION}, sort_keys=True, indent=1, allow_nan=True)
        atomic_write_bytes(self.path(kind, key), text.encode())

    def read_checkpoint(self, kind: str, key: str) -> dict | None:
        """Return a stored state dict, or None.

        Files are read with ``torch.load(..., weights_only=True)``, so a
        checkpoint can hold tensors and plain containers only, never code.

        Raises
        ------
        StoreFormatError
            If the checkpoint was written in another store format.
        """
        path = self.path(kind, key, ".pt")
        if not path.exists():
            return None
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except (EOFError, RuntimeError, ValueError) as error:
            if "weights_only" in str(error) or "Weights only" in str(error):
                raise  # a file that would run code when unpickled: never loaded
            raise StoreFormatError(_damaged(path, error)) from None
        if isinstance(checkpoint, dict) and FORMAT_FIELD in checkpoint:
            _check_format(checkpoint[FORMAT_FIELD], path)
            return checkpoint["state_dict"]
        return checkpoint  # format 1 from before the field existed: a bare state dict

    def write_checkpoint(self, kind: str, key: str, state_dict: dict) -> None:
        """Store a state dict atomically, tagged with the store format."""
        import io

        check_type(state_dict, "state_dict", "Store.write_checkpoint()", dict, "a dict (a model's state_dict())")
        buffer = io.BytesIO()
        torch.save({FORMAT_FIELD: FORMAT_VERSION, "state_dict": state_dict}, buffer)
        atomic_write_bytes(self.path(kind, key, ".pt"), buffer.getvalue())
