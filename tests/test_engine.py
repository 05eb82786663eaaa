"""The engine refuses a data dir written with another data model instead of answering wrongly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tai_graph.config import Settings
from tai_graph.engine import DATA_MODEL, Engine
from tai_graph.errors import Unavailable


def test_a_new_data_dir_records_the_data_model_and_reopens(tmp_path: Path) -> None:
    engine = Engine(Settings(data_dir=tmp_path / "data"))
    engine.create_tenant("acme", "Acme")
    engine.close()
    marker = tmp_path / "data" / "docs" / "system" / "data-model.json"
    assert json.loads(marker.read_text()) == {"version": DATA_MODEL}
    Engine(Settings(data_dir=tmp_path / "data")).close()  # same model: opens


@pytest.mark.parametrize("marker", [None, {"version": 1}], ids=["before-markers", "older-model"])
def test_a_data_dir_of_another_data_model_is_refused(tmp_path: Path, marker: dict[str, int] | None) -> None:
    engine = Engine(Settings(data_dir=tmp_path / "data"))
    engine.create_tenant("acme", "Acme")
    engine.close()
    path = tmp_path / "data" / "docs" / "system" / "data-model.json"
    if marker is None:
        path.unlink()  # what a data dir of the first data model looks like: tenants, no marker
    else:
        path.write_text(json.dumps(marker))
    with pytest.raises(Unavailable, match="data model 1; this version reads data model 2") as caught:
        Engine(Settings(data_dir=tmp_path / "data"))
    assert caught.value.details["expected"] == DATA_MODEL
    # the store was closed on the way out: the data dir can be opened again once fixed
    path.write_text(json.dumps({"version": DATA_MODEL}))
    Engine(Settings(data_dir=tmp_path / "data")).close()
