"""`python -m sandbox`: serve the UChat stand-in (partner API, bot_url, demo bot) with waitress.

Defaults: port APICHAT_SANDBOX_PORT (8503), state in sandbox.json beside APICHAT_DB
(data/sandbox.json), partner key sandbox-partner-key, flow key sandbox-flow-key.
"""

from __future__ import annotations

import argparse
import logging
import sys

from apichat.config import SettingsError
from apichat.processes import exit_with_parent


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 300:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 300 seconds")
    return value


def main(argv: list[str] | None = None) -> int:
    from sandbox import SandboxConfig

    argv = sys.argv[1:] if argv is None else argv
    try:
        defaults = SandboxConfig.from_env()
    except SettingsError as exc:
        if not {"-h", "--help"} & set(argv):  # --help still works while a setting is wrong
            print(f"sandbox: {exc}", file=sys.stderr)
            return 2
        defaults = SandboxConfig()
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default %(default)s)")
    parser.add_argument("--port", type=int, default=defaults.port,
                        help="port (default: APICHAT_SANDBOX_PORT or %(default)s)")
    parser.add_argument("--state", default=defaults.state_path,
                        help="JSON file keeping the webhooks across restarts (default %(default)s)")
    parser.add_argument("--public-url", default="",
                        help="the sandbox's address as webhooks and browsers reach it, used in bot_url and "
                             "media links (default http://127.0.0.1:<port>)")
    parser.add_argument("--partner-key", default=defaults.partner_key, help="partner API key (default %(default)s)")
    parser.add_argument("--flow-key", default=defaults.flow_key, help="flow API key for bot_url (default %(default)s)")
    parser.add_argument("--slow-seconds", type=_seconds, default=defaults.slow_seconds,
                        help="delay of the demo bot's 'slow' reply (default %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help="seed of the wording of the demo bot's answers about the shop (default %(default)s)")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads (default %(default)s)")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port} is not a TCP port (1-65535)")
    if args.public_url and not args.public_url.startswith(("http://", "https://")):
        parser.error(f"--public-url {args.public_url!r} must start with http:// or https://")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(levelname)s %(message)s")
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    from waitress import serve

    from sandbox import create_app

    config = defaults.replace(port=args.port, state_path=args.state, public_url=args.public_url.rstrip("/"),
                              partner_key=args.partner_key, flow_key=args.flow_key, slow_seconds=args.slow_seconds,
                              seed=args.seed)
    app = create_app(config)
    logging.info("listening on http://%s:%s public=%s state=%s", args.host, args.port, config.base_url,
                 config.state_path)
    exit_with_parent()
    serve(app, host=args.host, port=args.port, threads=args.threads, ident="apichat-sandbox")
    return 0


if __name__ == "__main__":
    sys.exit(main())
