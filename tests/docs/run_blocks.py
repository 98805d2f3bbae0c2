"""Run one page's Python blocks in order, in one namespace (as a reader would paste
them into one session). Invoked by test_examples.py in a fresh interpreter:

    python run_blocks.py BLOCKS.json

BLOCKS.json is a list of ``{"where": "docs/x.md:12", "code": "..."}``. Exit status 0
when all ran; otherwise the failing block's location and traceback on stderr, exit 1.

Names the examples may use without defining them (like doctest's globs): ``work()``,
a few milliseconds of CPU work standing for "your code".
"""
import json
import sys
import traceback


def work(n: int = 200_000) -> int:
    """Stands for the reader's own code in the examples."""
    return sum(i * i for i in range(n))


def main(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        items = json.load(fh)
    namespace = {"__name__": "__main__", "work": work}
    for item in items:
        try:
            exec(compile(item["code"], item["where"], "exec"), namespace)
        except BaseException:    # noqa: BLE001  (SystemExit included: a block must not exit)
            print(f"docs example {item['where']} failed:\n{traceback.format_exc()}",
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
