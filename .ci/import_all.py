"""Imports every module of the dprof package, so that an interpreter whose CI stage
runs only part of the test suite still fails on a module it cannot even load (syntax
or annotations newer than it). A module that needs an optional third-party package
that is not installed is listed and skipped; any other error fails."""
import importlib
import pkgutil
import sys

import dprof

failed, skipped, loaded = [], [], 0
for info in pkgutil.walk_packages(dprof.__path__, "dprof."):
    if info.name.endswith(".__main__") or ".migrations." in info.name:
        continue    # the command line, and alembic's scripts (run by alembic only)
    try:
        importlib.import_module(info.name)
        loaded += 1
    except ModuleNotFoundError as e:
        if e.name and not e.name.startswith("dprof"):
            skipped.append(f"{info.name} (needs {e.name})")
        else:
            failed.append(f"{info.name}: {e!r}")
    except Exception as e:  # noqa: BLE001 - any failure to import is the finding
        failed.append(f"{info.name}: {e!r}")
print(f"imported {loaded} dprof modules; skipped {len(skipped)}: {', '.join(skipped) or '-'}")
if failed:
    print("failed to import:\n  " + "\n  ".join(failed))
    sys.exit(1)
