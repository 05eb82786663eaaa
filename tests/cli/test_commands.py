"""`tai-graph import` and `tai-graph optimize` on a real on-disk data dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tai_graph.cli import commands
from tai_graph.cli.app import app
from tai_graph.config import Settings
from tai_graph.engine import Engine


def _events(n: int) -> str:
    return "\n".join(
        json.dumps(
            {
                "event_id": f"E{i}",
                "timestamp": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                "transaction_type": "order",
                "data": {"order_id": f"O{i}", "channel": "amazon", "amount": "10.50", "status": "fulfilled"},
            }
        )
        for i in range(n)
    )


def _orders(data_dir: Path) -> object:
    engine = Engine(Settings(data_dir=data_dir))
    try:
        return engine.kpis("acme", "2026-01-01", "2026-02-01").get("orders").rows
    finally:
        engine.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    engine = Engine(Settings(data_dir=tmp_path / "data"))
    engine.create_tenant("acme", "Acme")
    engine.close()
    return tmp_path / "data"


def test_import_compacts_the_store_past_the_threshold(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "OPTIMIZE_AFTER", 50)
    source = tmp_path / "history.ndjson"
    runner = CliRunner()
    source.write_text(_events(40))
    small = runner.invoke(app, ["import", str(source), "-c", "acme", "--data-dir", str(data_dir)])
    assert small.exit_code == 0, small.output
    assert json.loads(small.stdout)["imported"] == 40 and "optimized" not in small.stderr
    source.write_text(_events(60))  # 40 duplicates, 20 new: 20 imported, under the threshold
    forced = runner.invoke(
        app, ["import", str(source), "-c", "acme", "--optimize", "--data-dir", str(data_dir)]
    )
    assert forced.exit_code == 0 and "optimized the store in" in forced.stderr
    assert json.loads(forced.stdout)["imported"] == 20
    assert _orders(data_dir) == [{"value": 60, "gmv": 630}]


def test_optimize_keeps_every_answer(data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "history.ndjson"
    source.write_text(_events(100))
    runner = CliRunner()
    done = runner.invoke(
        app, ["import", str(source), "-c", "acme", "--no-optimize", "--data-dir", str(data_dir)]
    )
    assert done.exit_code == 0 and "optimized" not in done.stderr
    before = _orders(data_dir)
    result = runner.invoke(app, ["optimize", "--data-dir", str(data_dir)])
    assert result.exit_code == 0 and "optimized the store in" in result.stderr
    assert _orders(data_dir) == before == [{"value": 100, "gmv": 1050}]
