"""The directory that ``dprof run --follow-children`` puts first on the children's
``PYTHONPATH``; it holds only ``sitecustomize.py``. Not imported as a package."""
