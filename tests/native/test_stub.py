"""The .pyi stub describes every public name of the extension."""
import ast
import pathlib

import pytest

import dprof
from dprof import _native

pytestmark = pytest.mark.native


def test_stub_names_every_public_function_and_type():
    stub = pathlib.Path(dprof.__file__).with_name("_native.pyi")
    tree = ast.parse(stub.read_text())
    declared = {node.name for node in tree.body
                if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    public = {name for name in dir(_native) if not name.startswith("_")}
    assert public - declared == set()
    assert all(getattr(_native, name).__doc__ for name in public)
