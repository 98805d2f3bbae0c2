"""``python -m dprof`` is the same as the ``dprof`` command."""
from dprof.cli import main

raise SystemExit(main())
