"""The bundled example applications and audit set, shipped as package data (``policykb.examples``)
so that the workbench page can start from them wherever policykb is installed."""
