"""`python -m tai_graph.cli`."""

from __future__ import annotations

from tai_graph.cli import main

main()
