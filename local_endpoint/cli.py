"""``python -m local_endpoint``: serve a local endpoint until Ctrl-C or SIGTERM.

Contract:
- ``main(argv)`` parses the flags below, serves on the main thread's event loop,
  prints the base URL and the three lines of client code that use it, and on
  SIGINT or SIGTERM stops every worker process group before it returns 0.
  A bad flag value exits with status 2 and says which flag.
- Every flag maps to one ``EndpointConfig`` field; unset flags keep its defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import signal
import sys

from .config import EndpointConfig
from .server import EndpointServer


def build_parser() -> argparse.ArgumentParser:
    defaults = EndpointConfig(api_key="x", worker_key="y")
    parser = argparse.ArgumentParser(
        prog="python -m local_endpoint",
        description="A local RunPod endpoint: the unmodified SDK worker and client "
                    "talk through it as they would through RunPod.",
    )
    add = parser.add_argument
    add("--host", default=defaults.host, help="address to listen on (default: %(default)s)")
    add("--port", type=int, default=defaults.port, help="port; 0 picks a free one (default)")
    add("--endpoint-id", default=defaults.endpoint_id, help="endpoint id (default: %(default)s)")
    add("--api-key", help="client API key (default: a random one, printed)")
    add("--worker-command", help="the worker to run, as a shell-like string "
                                 "(default: this Python with -m worker)")
    add("--worker-cwd", help="directory workers start in (default: the current one)")
    add("--min-workers", type=int, default=defaults.min_workers,
        help="workers kept running even when idle (default: %(default)s)")
    add("--max-workers", type=int, default=defaults.max_workers,
        help="most workers it runs at once, at least 1 (default: %(default)s)")
    add("--idle-timeout", type=float, default=defaults.idle_timeout,
        help="seconds an idle worker above --min-workers lives (default: %(default)s)")
    add("--max-retries", type=int, default=defaults.max_retries,
        help="requeues of a job whose worker died (default: %(default)s)")
    add("--execution-timeout", type=float, default=defaults.execution_timeout,
        help="seconds per attempt, 0 for none; a request's policy.executionTimeout "
             "wins (default: %(default)s)")
    add("--volume", help="a folder the workers see as their network volume (their VOLUME_DIR; "
                          "on RunPod, /runpod-volume)")
    add("--log-dir", help="keep worker logs in this folder (default: a temporary one)")
    add("--verbose", "-v", action="store_true", help="log every state change")
    return parser


def config_from_args(args: argparse.Namespace) -> EndpointConfig:
    settings = dict(
        host=args.host, port=args.port, endpoint_id=args.endpoint_id,
        min_workers=args.min_workers, max_workers=args.max_workers,
        idle_timeout=args.idle_timeout, max_retries=args.max_retries,
        execution_timeout=args.execution_timeout, log_dir=args.log_dir,
        worker_cwd=args.worker_cwd, volume=args.volume,
    )
    if args.api_key:
        settings["api_key"] = args.api_key
    if args.worker_command:
        settings["worker_command"] = shlex.split(args.worker_command)
    return EndpointConfig(**settings)


def usage_text(server: EndpointServer) -> str:
    cfg = server.config
    return "\n".join([
        f"Local RunPod endpoint {cfg.endpoint_id!r} at {server.url}",
        f"  workers: {shlex.join(cfg.worker_command)} ({cfg.min_workers} to "
        f"{cfg.max_workers}, idle timeout {cfg.idle_timeout:g} s), logs in {server.log_dir}",
        "",
        "Use it from Python:",
        "",
        "    import runpod",
        f"    runpod.endpoint_url_base = {server.url!r}",
        f"    runpod.api_key = {cfg.api_key!r}; endpoint = runpod.Endpoint({cfg.endpoint_id!r})",
        "",
        "Ctrl-C stops it and its workers.",
    ])


class CannotListen(Exception):
    """The endpoint's socket could not be bound (the port is in use, ...)."""


async def serve(config: EndpointConfig) -> None:
    server = EndpointServer(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await server.start()
        except OSError as problem:
            raise CannotListen(f"cannot listen on {config.host}:{config.port}: "
                               f"{problem.strerror or problem}") from None
        print(usage_text(server), flush=True)
        if config.host not in ("127.0.0.1", "localhost", "::1"):
            print(f"warning: listening on {config.host}, not only on this machine; the "
                  f"API key is all that guards it", file=sys.stderr, flush=True)
        await stop.wait()
        print("stopping...", file=sys.stderr, flush=True)
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.max_workers < 1:
        # the CLI prints no worker key, so no worker could ever join by hand
        parser.error("--max-workers must be at least 1: with 0 no worker would ever take a job")
    try:
        config = config_from_args(args)
    except ValueError as problem:
        parser.error(str(problem))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(serve(config))
    except CannotListen as problem:
        print(f"local_endpoint: error: {problem}", file=sys.stderr, flush=True)
        return 2
    return 0
