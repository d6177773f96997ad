"""A real two-node Ray cluster on 127.0.0.1 for the cluster tests, started and torn down by the test.

``ray start --head`` and ``ray start --address`` run with ``--block`` in process groups of their own,
with their own ports, temporary folder and token; teardown ends exactly those process groups (never
``ray stop``, which would stop every Ray on the machine). Killing a node = killing its process group.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_IP = "127.0.0.2"
"""Every node's address. Ray rewrites 127.0.0.1 into the machine's routable address (so that other machines
could join); another loopback address keeps all cluster traffic on this machine's loopback interface."""
RAY = Path(sys.executable).parent / "ray"
REAPER = """
import os, shutil, signal, sys, time
parent, root = int(sys.argv[1]), sys.argv[2]
while os.path.isdir(root):
    try:
        os.kill(parent, 0)
    except ProcessLookupError:  # the test process died without its teardown (killed): end its cluster
        for line in open(os.path.join(root, "pgids")).read().split():
            try:
                os.killpg(int(line), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        shutil.rmtree(root, ignore_errors=True)
        break
    time.sleep(1.0)
"""
"""Watches the test process: if it dies without tearing its cluster down, the nodes' process groups go too."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Node:
    """One ``ray start --block`` process (its process group holds the raylet and its workers)."""

    name: str
    proc: subprocess.Popen
    manager_port: int
    log: Path
    node_id: str | None = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """The node dies: SIGKILL its whole process group (raylet, workers, agents)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)


@dataclass
class LocalCluster:
    """Head + worker on 127.0.0.1, ``cpus`` CPUs each; ``address`` is the Ray Client address."""

    root: Path
    token: str
    gcs_port: int
    client_port: int
    env: dict[str, str]
    cpus: int = 1
    nodes: list[Node] = field(default_factory=list)
    reaper: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"ray://127.0.0.1:{self.client_port}"

    @property
    def gcs_address(self) -> str:
        return f"{NODE_IP}:{self.gcs_port}"

    def _start(self, name: str, head: bool) -> Node:
        ports = {k: free_port() for k in ("node-manager-port", "object-manager-port", "metrics-export-port",
                                          "runtime-env-agent-port", "dashboard-agent-grpc-port",
                                          "dashboard-agent-listen-port")}
        base = 30000 + (free_port() % 250) * 100  # a worker-port range of its own (Ray Client uses 23000-24000)
        args = [str(RAY), "start", "--block", f"--num-cpus={self.cpus}", "--num-gpus=0",
                f"--min-worker-port={base}", f"--max-worker-port={base + 60}", "--disable-usage-stats",
                f"--node-ip-address={NODE_IP}"]
        args += [f"--{k}={v}" for k, v in ports.items()]
        if head:
            args += ["--head", f"--port={self.gcs_port}", f"--ray-client-server-port={self.client_port}",
                     "--include-dashboard=false", f"--dashboard-port={free_port()}", f"--temp-dir={self.root}"]
        else:
            args += [f"--address={NODE_IP}:{self.gcs_port}"]
        log = self.root / f"{name}-{len(self.nodes)}.log"
        with open(log, "w") as fh:
            proc = subprocess.Popen(args, env=self.env, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT,
                                    start_new_session=True)
        node = Node(name, proc, ports["node-manager-port"], log)
        self.nodes.append(node)
        with open(self.root / "pgids", "a") as fh:  # for the reaper
            fh.write(f"{proc.pid}\n")
        self._wait_started(node)
        return node

    def _wait_started(self, node: Node, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Ray runtime started" in node.log.read_text(errors="replace"):
                return
            if not node.alive():
                break
            time.sleep(0.2)
        raise RuntimeError(f"ray node {node.name} did not start:\n{node.log.read_text(errors='replace')[-3000:]}")

    def start_worker(self) -> Node:
        return self._start("worker", head=False)

    def head(self) -> Node:
        return self.nodes[0]

    def live_workers(self) -> list[Node]:
        return [n for n in self.nodes[1:] if n.alive()]

    def ensure_worker(self) -> Node:
        """A live worker node (starting a new one when the last was killed)."""
        live = self.live_workers()
        return live[0] if live else self.start_worker()

    def node_id_of(self, node: Node) -> str:
        """Ray node id of ``node`` (asked through a connected driver: call after ray.init)."""
        import ray

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for n in ray.nodes():
                if n["Alive"] and n["NodeManagerPort"] == node.manager_port:
                    node.node_id = n["NodeID"]
                    return node.node_id
            time.sleep(0.3)
        raise RuntimeError(f"node {node.name} not registered")

    def shutdown(self) -> None:
        for node in reversed(self.nodes):
            try:
                os.killpg(node.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for node in reversed(self.nodes):
            try:
                node.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(node.proc.pid, signal.SIGKILL)  # whatever did not end on SIGTERM
            except ProcessLookupError:
                pass
            node.proc.wait(30)
        shutil.rmtree(self.root, ignore_errors=True)
        if self.reaper is not None:
            self.reaper.wait(10)


def start_cluster(cpus: int = 1) -> LocalCluster:
    """Head + one worker node; always pair with ``shutdown()`` (even when starting fails)."""
    root = Path(tempfile.mkdtemp(prefix="snr-ray-", dir="/tmp"))  # short: Ray's socket paths must fit
    token = secrets.token_hex(16)
    env = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, RAY_USAGE_STATS_ENABLED="0",
               PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               # notice a dead node within seconds, not the default half minute
               RAY_health_check_initial_delay_ms="1000", RAY_health_check_period_ms="1000",
               RAY_health_check_timeout_ms="1000", RAY_health_check_failure_threshold="3")
    env.pop("RAY_ADDRESS", None)
    cluster = LocalCluster(root, token, free_port(), free_port(), env, cpus)
    cluster.reaper = subprocess.Popen([sys.executable, "-c", REAPER, str(os.getpid()), str(root)],
                                      start_new_session=True, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)  # ends by itself once root is removed
    try:
        cluster._start("head", head=True)
        cluster.start_worker()
    except BaseException:
        cluster.shutdown()
        raise
    return cluster
