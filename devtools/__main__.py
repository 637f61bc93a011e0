"""The offline tools: `python -m devtools demo` (`make demo`) and `python -m devtools simulate`."""

from __future__ import annotations

import argparse
import sys

from devtools import demo as offline_demo
from devtools import simulate


def main(argv: list[str] | None = None) -> int:
    """Play the scripted demo, or let you be the patient, offline on a virtual clock."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools", description="The LDN bot offline: no token, no network."
    )
    commands = parser.add_subparsers(dest="command", metavar="{demo,simulate}", required=True)
    demo = commands.add_parser(
        "demo", help="a scripted patient's twelve weeks, offline: no token, no network"
    )
    demo.add_argument("--seed", type=int, default=None, help="vary the patient's nights")
    detail = demo.add_mutually_exclusive_group()
    detail.add_argument(
        "--brief", action="store_false", dest="full", help="ordinary nights on one line (default)"
    )
    detail.add_argument(
        "--full", action="store_true", dest="full", help="every message of every night"
    )
    demo.set_defaults(full=False)
    commands.add_parser("simulate", help="be the patient yourself, offline, on a virtual clock")
    args = parser.parse_args(argv)
    if args.command == "demo":
        seed = offline_demo.DEFAULT_SEED if args.seed is None else args.seed
        return offline_demo.run(seed=seed, full=args.full)
    return simulate.run()


if __name__ == "__main__":
    sys.exit(main())
