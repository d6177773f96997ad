"""Connecting to a Ray cluster: the lazy import, the cluster's token, and the address forms.

ADDRESS is either ``ray://HOST:10001`` (Ray Client: this machine is not part of the cluster, e.g. a
capture laptop talking to a GPU box) or ``HOST:6379`` (this machine runs a node of the cluster).
Token authentication is always on: the token comes from ``RAY_AUTH_TOKEN``, the file named by
``RAY_AUTH_TOKEN_PATH``, or ``~/.ray/auth_token`` (Ray's own order); without one nothing connects.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from devices.errors import InputError, MissingDependencyError

INSTALL_HINT = "Ray is not installed: pip install 'sparsenerf-studio[cluster]' to train on a Ray cluster"
NAMESPACE = "sparsenerf"
CONNECT_ATTEMPTS = 3
RETRY_ON = ("Initialization failure from server", "already been disconnected")
"""Ray Client failures worth another try: its per-connection server did not come up (a busy head)."""
"""Ray namespace of our named (detached) trainer actors."""


def import_ray() -> Any:
    """The ``ray`` module, or MissingDependencyError with the one-sentence install hint."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(INSTALL_HINT) from None
    return ray


def find_token() -> str | None:
    """The cluster token as Ray looks for it: $RAY_AUTH_TOKEN, $RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return os.environ["RAY_AUTH_TOKEN"].strip()
    for path in (os.environ.get("RAY_AUTH_TOKEN_PATH"), Path.home() / ".ray" / "auth_token"):
        if path and Path(path).is_file():
            text = Path(path).read_text().strip()
            if text:
                return text
    return None


def use_token(token_file: Path | None = None) -> None:
    """Turn on Ray's token mode for this process (and the processes it starts); a token must be found.

    Raises:
        InputError: ``token_file`` unreadable or empty, or no token anywhere.
    """
    if token_file is not None:
        token_file = Path(token_file)
        if not token_file.is_file() or not token_file.read_text().strip():
            raise InputError(token_file, "is not a file holding the cluster's token (`ray get-auth-token` on the head prints it)")
        os.environ["RAY_AUTH_TOKEN"] = token_file.read_text().strip()
    if find_token() is None:
        raise InputError(None, "no token for the Ray cluster: set RAY_AUTH_TOKEN, or pass --token-file FILE "
                               "(`ray get-auth-token` on the head node prints it)")
    _set_token_mode()


def _set_token_mode() -> None:
    os.environ["RAY_AUTH_MODE"] = "token"
    ray = import_ray()
    try:  # Ray caches its config and token in C++; refresh them when it was already imported and used
        ray._raylet.Config.initialize("")
        ray._raylet.AuthenticationTokenLoader.instance().reset_cache()
    except Exception:  # noqa: BLE001 - older/newer internals: the environment variables still apply
        pass


def connect(address: str, token_file: Path | None = None) -> Any:
    """Connect this process to the cluster at ``address`` (a no-op when already connected); returns ``ray``.

    Raises:
        MissingDependencyError: no Ray. InputError: no token, or the cluster refused / is not there.
    """
    ray = import_ray()
    if ray.is_initialized():
        return ray
    use_token(token_file)
    for attempt in range(CONNECT_ATTEMPTS):
        try:
            ray.init(address=address, namespace=NAMESPACE, logging_level="ERROR", log_to_driver=False)
            return ray
        except Exception as exc:  # noqa: BLE001 - ConnectionError, AuthenticationError, gRPC errors: one line
            reason = " ".join(str(exc).split())[:200]
            # Ray Client's per-connection server can fail to start on a busy head: that one is worth a retry
            if not any(m in reason for m in RETRY_ON) or attempt == CONNECT_ATTEMPTS - 1:
                raise InputError(None, f"cannot connect to the Ray cluster at {address} (is it running, and is the "
                                       f"token this cluster's?): {reason}") from None
            try:
                ray.shutdown()  # drop the half-made client context before the next try
            except Exception:  # noqa: BLE001
                pass
            time.sleep(2.0 * (attempt + 1))
    return ray


LOCAL_NODE_IP = "127.0.0.2"


def start_local(num_cpus: int | None = None) -> Any:
    """Start a private single-machine Ray instance (token on, a fresh random token); returns ``ray``."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    if find_token() is None:
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(16)  # inherited by the processes Ray starts
    _set_token_mode()
    # Ray would turn 127.0.0.1 into the machine's routable address; a private instance needs no network,
    # so it is pinned to another loopback address and its traffic never leaves the loopback interface.
    ray.init(num_cpus=num_cpus, namespace=NAMESPACE, include_dashboard=False, logging_level="ERROR",
             log_to_driver=False, _node_ip_address=LOCAL_NODE_IP)
    return ray


def disconnect() -> None:
    """Leave the cluster (or stop the private instance); detached trainers keep running."""
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()
