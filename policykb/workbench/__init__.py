"""The analyst's workbench: a web page at ``/`` on ``policykb serve`` (docs/workbench.md).

The page's shell is rendered on the server (``page.py``); its script, styles and words ship
in this package (``static/``, ``ui.yaml``): nothing is loaded from the internet and nothing
needs node to build.  The script answers every question through the ``/v1`` routes; the
workbench's own routes (``routes.py``) only serve the page, its assets and the bundled
examples (``bundled.py``), and turn a JSON or YAML file the analyst opens into the JSON the
editor works on.
"""
