"""``dprof.service.asgi:app``: the API built from the environment, for ASGI servers
started with several processes (``dprof serve --workers N``, or uvicorn/gunicorn).
Each process imports this module, so each sets up the JSON logs itself."""
from dprof.service import logs
from dprof.service.api import create_app

logs.setup("api")
app = create_app()
