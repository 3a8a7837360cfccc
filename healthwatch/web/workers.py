"""Several server processes on one port, each with a listening socket of its own (Linux).

Why: uvicorn's ``--workers`` shares one listening socket among the processes, and whichever
process wakes first accepts every connection waiting, so a burst of connections (a browser
opening six, a load balancer opening fifty) lands mostly on one worker: measured with 50
connections and 2 workers, 39 against 11, and the busy worker's requests waited three times as
long as the other's. With ``SO_REUSEPORT`` each worker listens on its own socket bound to the
same port and the kernel spreads new connections over them by a hash of their addresses, as
nginx's ``reuseport`` does. Elsewhere (no ``SO_REUSEPORT`` balancing) uvicorn's own supervisor
is used.

Linux lets only processes of the same user join a port's ``SO_REUSEPORT`` group, and
``healthwatch serve`` first checks the port without the option, so it refuses a port that
another program (or another healthwatch) holds instead of sharing it.

The parent keeps the sockets, starts one process per socket, starts a process again on the
same socket when it dies, and on SIGINT or SIGTERM asks every process to finish its requests
(uvicorn's graceful shutdown) before it returns.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import threading
from typing import Any

__all__ = ["STARTUP_FAILURE", "balanced", "run_workers"]

#: The exit status of a worker that could not start (as uvicorn's); the parent then stops.
STARTUP_FAILURE = 3


def balanced() -> bool:
    """Whether the kernel spreads connections over sockets sharing a port (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` that other workers' sockets may share."""
    family, kind, proto, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(where)
    sock.set_inheritable(True)
    return sock


def _serve(config: Any, sock: socket.socket) -> None:
    """One worker process: uvicorn on its own socket."""
    import uvicorn

    config.configure_logging()
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def run_workers(config: Any, workers: int) -> None:
    """Serve ``config`` (a ``uvicorn.Config`` with an import-string app) in ``workers``
    processes until SIGINT or SIGTERM. Raises ``SystemExit(1)`` when a worker cannot start."""
    sockets = [listening_socket(config.host, config.port) for _ in range(workers)]
    spawn = multiprocessing.get_context("spawn")

    def start(sock: socket.socket) -> Any:
        process = spawn.Process(target=_serve, args=(config, sock), daemon=False)
        process.start()
        return process

    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    failed = False
    try:
        processes = [start(sock) for sock in sockets]
        while not stop.wait(0.5):
            for i, process in enumerate(processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    failed = True
                    stop.set()
                    break
                processes[i] = start(sockets[i])
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process in processes:
            process.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sock in sockets:
            sock.close()
    if failed:
        raise SystemExit(1)
