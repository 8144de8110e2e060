"""Whether a download may be tried: ``GCL_OFFLINE`` and a short reachability
probe, shared by the PyG and OGB loaders (tests replace
:func:`online` to simulate a machine without network).
"""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlparse

ONLINE_TIMEOUT = 3.0


def offline_forced() -> bool:
    """Whether ``GCL_OFFLINE`` forbids downloads (``1``, ``true`` or ``yes``)."""
    return os.environ.get("GCL_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def online(url: str, timeout: float = ONLINE_TIMEOUT) -> bool:
    """Whether ``url``'s host accepts a TCP connection within ``timeout`` seconds.

    Name resolution has no timeout of its own, so the probe runs in a daemon
    thread and is abandoned after ``timeout``.
    """
    parsed = urlparse(url)
    host = parsed.hostname
    if not host:
        return False
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])
