"""Events per second of the validation and mapping paths, single-threaded.

    .venv/bin/python benchmarks/validation_bench.py [--events N]

Measures, over the valid fixture events of every type (repeated to N):
the fast validator, the N-Triples mapping, pyshacl over an rdflib graph in batches of 1000, and
pyshacl one event at a time. pyshacl runs on a slice so the whole run stays under a minute.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tai_graph.config import resource_dir  # noqa: E402
from tai_graph.mapping import event_triples  # noqa: E402
from tai_graph.model import Event  # noqa: E402
from tai_graph.schema import TypeRegistry  # noqa: E402
from tai_graph.shacl_reference import validate_with_pyshacl  # noqa: E402
from tai_graph.validation import Validator  # noqa: E402


def rate(label: str, count: int, run: Callable[[], Any], repeat: int = 3) -> float:
    """Best of ``repeat`` runs, in events per second."""
    best = min(_timed(run) for _ in range(repeat))
    per_second = count / best
    print(f"{label:<42} {per_second:>12,.0f} events/s   ({count} events, {best * 1000:.1f} ms)")
    return per_second


def _timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events for the fast paths")
    args = parser.parse_args()
    logging.getLogger("rdflib").setLevel(logging.ERROR)

    fixtures = json.loads(
        (ROOT / "tests/fixtures/events/valid.json").read_text(encoding="utf-8"), parse_float=Decimal
    )
    base = [case["event"] for case in fixtures]
    raws = [{**base[i % len(base)], "event_id": f"bench-{i}"} for i in range(args.events)]
    registry = TypeRegistry.load(resource_dir("shapes"), resource_dir("ontology"))
    validator = Validator(registry)
    types = {etype.name: etype for etype in registry}

    events: list[Event] = []

    def validate_all() -> None:
        events.clear()
        for raw in raws:
            result = validator.validate(raw, customer_id="acme")
            assert isinstance(result, Event)
            events.append(result)

    def map_all() -> None:
        for event in events:
            event_triples(event, types[event.transaction_type])

    def pyshacl_batches() -> None:
        for start in range(0, 2000, 1000):
            assert validate_with_pyshacl(raws[start : start + 1000], registry, "acme") == []

    def pyshacl_single() -> None:
        for raw in raws[:50]:
            assert validate_with_pyshacl([raw], registry, "acme") == []

    print(f"Python {sys.version.split()[0]}, {len(base)} distinct valid events over {len(registry)} types\n")
    rate("fast validator (Validator.validate)", len(raws), validate_all)
    rate("mapping (event_triples)", len(events), map_all)
    rate("pyshacl, batches of 1000", 2000, pyshacl_batches, repeat=1)
    rate("pyshacl, one event at a time", 50, pyshacl_single, repeat=1)


if __name__ == "__main__":
    main()
