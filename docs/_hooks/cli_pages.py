"""MkDocs hooks: the CLI reference generated from dprof's argparse parser, and a nav
that tolerates pages other branches have not merged yet.

``on_files`` adds one page per verb (``cli/<verb>.md``) and ``cli/index.md``, written
from ``dprof.cli.build_parser()`` at build time, so the reference cannot drift from
the parser: a new option or verb appears on the next build. ``on_config`` drops nav
entries whose Markdown file does not exist (a page written on another branch, such as
``pytest-plugin.md``), so the nav can name them before they arrive.

Run alone (``python docs/_hooks/cli_pages.py OUTDIR``) it writes the pages to OUTDIR.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _parser():
    try:                       # the dprof on the path (installed, or the tests' one) ...
        import dprof  # noqa: F401
    except ImportError:        # ... else this source tree
        sys.path.insert(0, ROOT)
    from dprof.cli import build_parser
    return build_parser()


def _verbs(parser: argparse.ArgumentParser) -> Dict[str, argparse.ArgumentParser]:
    for action in parser._actions:          # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _help_lines(action: argparse._SubParsersAction) -> Dict[str, str]:
    return {a.dest: (a.help or "") for a in action._choices_actions}


def _options_table(parser: argparse.ArgumentParser) -> str:
    rows = ["| option | what it does |", "|---|---|"]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.option_strings:
            name = ", ".join(action.option_strings)
            if action.nargs != 0:
                name += " " + (action.metavar or action.dest.upper())
        else:
            name = action.metavar or action.dest
        text = (action.help or "").replace("%(default)s", str(action.default))
        if action.help == argparse.SUPPRESS:
            continue
        if action.default not in (None, False, [], argparse.SUPPRESS) and action.nargs != 0 \
                and "default" not in text:
            text += f" (default: `{action.default}`)"
        rows.append(f"| `{name}` | {text.replace('|', '&#124;')} |")
    return "\n".join(rows)


def verb_page(name: str, parser: argparse.ArgumentParser, summary: str) -> str:
    usage = parser.format_usage().strip()
    if usage.startswith("usage: "):
        usage = usage[len("usage: "):]
    parts = [f"# dprof {name}", "",
             "<!-- generated from dprof.cli.build_parser() by docs/_hooks/cli_pages.py;"
             " do not edit -->", "", summary or "", "", "```text", usage, "```", ""]
    if parser.description:
        parts += [parser.description, ""]
    parts += [_options_table(parser), ""]
    if parser.epilog:
        parts += ["```text", parser.epilog, "```", ""]
    parts += [f"`dprof {name} --help` prints the same from the installed version.", ""]
    return "\n".join(parts)


def pages() -> Dict[str, str]:
    """Path under docs/ -> Markdown, for every verb and the index."""
    top = _parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    helps = _help_lines(sub)
    out = {}
    index = ["# Command line", "",
             "<!-- generated from dprof.cli.build_parser() by docs/_hooks/cli_pages.py -->",
             "", "Every verb of `dprof` (also `python -m dprof`), one page each, generated "
             "from the argument parser. Options before the verb:", "",
             _options_table(top), "", "| verb | what it does |", "|---|---|"]
    for name, parser in sorted(_verbs(top).items()):
        out[f"cli/{name}.md"] = verb_page(name, parser, helps.get(name, ""))
        index.append(f"| [`dprof {name}`]({name}.md) | {helps.get(name, '')} |")
    out["cli/index.md"] = "\n".join(index) + "\n"
    return out


# -- MkDocs hooks -------------------------------------------------------------------------

def on_config(config):
    """Drop nav entries naming a Markdown file that does not exist (yet)."""
    docs_dir = config["docs_dir"]
    generated = set(pages())

    def keep(entry) -> bool:
        if isinstance(entry, str):
            target = entry
        elif isinstance(entry, dict):
            (target,) = entry.values()
            if isinstance(target, list):
                entry[next(iter(entry))] = [e for e in target if keep(e)]
                return bool(entry[next(iter(entry))])
        else:
            return True
        if not isinstance(target, str) or "://" in target or not target.endswith(".md"):
            return True
        return target in generated or os.path.exists(os.path.join(docs_dir, target))

    if config.get("nav"):
        config["nav"] = [_with_cli_verbs(e) for e in config["nav"] if keep(e)]
    return config


CLI_SECTION = "Command line"


def _with_cli_verbs(entry):
    """The nav's "Command line" section lists every verb the parser has, so a verb
    added on any branch gets its page in the nav without editing mkdocs.yml."""
    if isinstance(entry, dict) and CLI_SECTION in entry:
        verbs = sorted(p[len("cli/"):-len(".md")] for p in pages() if p != "cli/index.md")
        return {CLI_SECTION: ["cli/index.md"] + [{f"dprof {v}": f"cli/{v}.md"} for v in verbs]}
    return entry


def on_files(files, config):
    from mkdocs.structure.files import File
    for path, content in pages().items():
        files.append(File.generated(config, path, content=content))
    return files


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "."
    for path, content in pages().items():
        full = os.path.join(target, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as fh:
            fh.write(content)
        print(full)
