"""The analyst's workbench: a web page at ``/`` on ``policykb serve`` (docs/workbench.md).

The page is rendered here (``page.py``) and its script, styles and words ship in this
package (``static/``, ``ui.yaml``): nothing is loaded from the internet and nothing needs
node to build.  The script answers every question through the ``/v1`` routes; the routes
below only serve the page, its assets, the bundled examples to start from, and turn a
JSON or YAML file the analyst opens into the JSON the editor works on.
"""
