"""``python -m vertex_openai.emulator [--port N] [--token-lifetime S] [--write-credentials P]``."""

from __future__ import annotations

import argparse

from vertex_openai.emulator._server import serve


def main(argv: list[str] | None = None) -> None:
    """Serve the emulator until interrupted (the arguments are in the module docstring)."""
    parser = argparse.ArgumentParser(prog="vertex-openai emulator")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token-lifetime", type=float, default=3600.0)
    parser.add_argument("--write-credentials", default=None, metavar="PATH")
    args = parser.parse_args(argv)
    serve(args.port, args.token_lifetime, args.write_credentials)


if __name__ == "__main__":
    main()
