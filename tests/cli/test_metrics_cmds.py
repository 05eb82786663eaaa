"""`tai-graph query run --sparql`: the bound text reproduces the figure through `tai-graph sparql`."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from tai_graph.cli import commands, metrics_cmds  # noqa: F401  (registers the commands)
from tai_graph.cli.app import app
from tai_graph.config import Settings
from tai_graph.engine import Engine


def test_the_printed_sparql_gives_the_same_figure(tmp_path: Path) -> None:
    data = tmp_path / "data"
    engine = Engine(Settings(data_dir=data))
    engine.create_tenant("acme", "Acme")
    engine.ingest(
        "acme",
        [
            {
                "event_id": f"E{i}",
                "timestamp": f"2026-01-{1 + i % 9:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
                "transaction_type": "order",
                "data": {"order_id": f"O{i}", "channel": "amazon", "amount": f"{i}.5", "status": "fulfilled"},
            }
            for i in range(200)
        ],
    )
    engine.close()
    runner = CliRunner()
    period = ["--from", "2026-01-02T05:30:00Z", "--to", "2026-01-08T00:00:00-05:00"]  # cut hour, whole hours
    common = ["-c", "acme", *period, "--data-dir", str(data)]
    ran = runner.invoke(app, ["query", "run", "orders", *common])
    assert ran.exit_code == 0, ran.output
    figure = json.loads(ran.stdout)["rows"][0]
    printed = runner.invoke(app, ["query", "run", "orders", "--sparql", *common])
    assert printed.exit_code == 0 and 'VALUES ?hourSlice { "order 2026-01-02T05" }' in printed.stdout
    (tmp_path / "bound.rq").write_text(printed.stdout)
    again = runner.invoke(app, ["sparql", f"@{tmp_path / 'bound.rq'}", "-c", "acme", "--data-dir", str(data)])
    assert again.exit_code == 0, again.output
    [row] = list(csv.DictReader(io.StringIO(again.stdout)))
    assert {k: Decimal(v) for k, v in row.items()} == {k: Decimal(v) for k, v in figure.items()}
    assert Decimal(figure["value"]) > 0
