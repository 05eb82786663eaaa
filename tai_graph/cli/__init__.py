"""`tai-graph`: the command line. Each command opens the Engine and calls one method."""

from __future__ import annotations

from tai_graph.cli.app import app, main

__all__ = ["app", "main"]
