"""Aggregate the stacks of a StackProfile into a call tree (the shape behind the call-tree
text, the flamegraphs and the HTML report).

A node stands for one frame reached by one path from the root; its ``seconds`` are the
time of every row whose stack passes through it (inclusive), ``self_seconds`` the time
of rows whose stack ends there. Both are split by category. Recursion needs no special
care: each level of a recursive call is its own node, and nothing here or in the
reports recurses over the tree (a deep recursion in the profile is a deep tree).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from dprof.report._common import (add_into, check_profile, empty_by_category, frame_filter,
                                  frame_label)
from dprof.stacks.model import Frame, StackProfile

NodeKey = Tuple[str, str, Optional[int]]     # (filename, function, line or None)


@dataclass
class Node:
    name: str                                  # what a reader sees: "func (file:line)"
    filename: str = ""
    function: str = ""
    line: Optional[int] = None                 # None when lines are merged
    seconds: Dict[str, float] = field(default_factory=empty_by_category)
    self_seconds: Dict[str, float] = field(default_factory=empty_by_category)
    samples: int = 0
    children: Dict[NodeKey, "Node"] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    @property
    def self_total(self) -> float:
        return sum(self.self_seconds.values())

    def sorted_children(self) -> List["Node"]:
        """Children in a stable order (by name, as flamegraph.pl does), so that two
        flamegraphs of similar runs line up."""
        return sorted(self.children.values(), key=lambda n: (n.name, n.filename, n.line or 0))

    def walk(self, depth: int = 0) -> Iterator[Tuple["Node", int]]:
        """Pre-order (node, depth), children in ``sorted_children`` order. An explicit
        stack, not recursion: a 50,000-deep recursion in the profile is a 50,000-deep
        tree, and nested generators would cost O(depth) per node."""
        stack = [(self, depth)]
        while stack:
            node, d = stack.pop()
            yield node, d
            stack.extend((child, d + 1) for child in reversed(node.sorted_children()))

    def child(self, key: NodeKey) -> Optional["Node"]:
        return self.children.get(key)


ROOT_NAME = "all"
OTHER_CODE = Frame("", "[library code]", 0)


def node_key(frame: Frame, lines: bool) -> NodeKey:
    return (frame.filename, frame.function, frame.line if lines else None)


def build_tree(profile: StackProfile, *, lines: bool = False, by_thread: bool = False,
               include_libraries: bool = True,
               keep: Optional[Callable[[Frame], bool]] = None) -> Node:
    """The call tree of ``profile``.

    lines: keep the executing line in a node's identity (one node per call site)
        instead of one node per function.
    by_thread: put one node per thread under the root.
    include_libraries: False drops frames outside the user's code from each stack, so
        user frames hang directly under the user frame that led to them; a stack with
        no user frame at all becomes ``[library code]``.
    keep: a custom frame predicate (overrides ``include_libraries``).
    """
    check_profile(profile)
    wanted = keep or frame_filter(include_libraries, profile)
    root = Node(ROOT_NAME)
    labels: Dict[NodeKey, str] = {}      # a recursion repeats one frame at every level
    for row in profile.rows:
        frames = [f for f in profile.stack_frames(row.stack_id) if wanted(f)]
        if not frames and profile.stacks[row.stack_id]:
            frames = [OTHER_CODE]
        path = [root]
        node = root
        if by_thread:
            name = profile.thread_names.get(row.thread_id, "")
            label = f"thread {row.thread_id}" + (f" ({name})" if name else "")
            node = _child(node, ("", label, None), Frame("", label, 0), name=label)
            path.append(node)
        for frame in frames:
            key = node_key(frame, lines)
            node = node.children.get(key) or _child(node, key, frame, lines, labels)
            path.append(node)
        for visited in path:
            add_into(visited.seconds, row.category, row.seconds)
            visited.samples += row.samples
        add_into(node.self_seconds, row.category, row.seconds)
    return root


def _child(parent: Node, key: NodeKey, frame: Frame, lines: bool = True,
           labels: Optional[Dict[NodeKey, str]] = None, name: Optional[str] = None) -> Node:
    node = parent.children.get(key)
    if node is None:
        if name is None:    # a label costs a relpath: once per frame, not per node
            name = labels.get(key) if labels is not None else None
            if name is None:
                name = frame_label(frame, lines)
                if labels is not None:
                    labels[key] = name
        node = Node(name, frame.filename, frame.function, frame.line if lines else None)
        parent.children[key] = node
    return node
