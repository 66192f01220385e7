"""What an offline verifier remembers between runs: the newest checkpoint it saw, per log origin."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import orjson

from verification.checkpoint import Checkpoint


def load_last_seen(path: Path, origin: str) -> Checkpoint | None:
    """The checkpoint last seen for `origin`, or None when the file or the origin is new."""
    if not path.exists():
        return None
    seen = orjson.loads(path.read_bytes()).get(origin)
    if seen is None:
        return None
    return Checkpoint(origin, int(seen["size"]), base64.b64decode(seen["root"]))


def remember(path: Path, checkpoint: Checkpoint) -> bool:
    """Keep `checkpoint` as the last seen for its origin if it is newer; True when it was kept."""
    seen = orjson.loads(path.read_bytes()) if path.exists() else {}
    previous = seen.get(checkpoint.origin)
    if previous is not None and int(previous["size"]) >= checkpoint.size:
        return False
    seen[checkpoint.origin] = {"size": checkpoint.size, "root": base64.b64encode(checkpoint.root).decode()}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_bytes(orjson.dumps(seen, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    os.replace(temporary, path)  # never a half-written state file
    return True
