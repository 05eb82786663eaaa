"""Settings from the environment: every TAI_* variable reaches its field, typed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tai_graph.config import Settings, resource_dir


def test_every_variable_sets_its_field() -> None:
    env = {
        "TAI_DATA_DIR": "/tmp/x",
        "TAI_ADMIN_KEY": "k",
        "TAI_HOSTNAME": "h",
        "TAI_REGION": "r",
        "TAI_RETENTION_YEARS": "9",
        "TAI_DURABILITY": "flush",
        "TAI_QUERY_DIRS": f"/a{os.pathsep}{os.pathsep}/b",
        "TAI_QUERY_TIMEOUT_S": "2.5",
        "TAI_STORE_URL": "http://s/query",
        "TAI_STORE_UPDATE_URL": "http://s/update",
        "TAI_STORE_TIMEOUT_S": "3",
    }
    s = Settings.from_env(env)
    assert (s.data_dir, s.admin_key, s.hostname, s.region) == (Path("/tmp/x"), "k", "h", "r")
    assert (s.retention_years, s.durability, s.query_timeout_s, s.store_timeout_s) == (9, "flush", 2.5, 3.0)
    assert s.query_dirs == (resource_dir("queries"), Path("/a"), Path("/b"))  # the shipped folder first
    assert (s.store_url, s.store_update_url) == ("http://s/query", "http://s/update")


def test_empty_variables_keep_the_defaults_and_overrides_win() -> None:
    empty = {k: "" for k in ("TAI_DATA_DIR", "TAI_REGION", "TAI_RETENTION_YEARS", "TAI_QUERY_DIRS")}
    assert Settings.from_env(empty) == Settings.from_env({})
    assert Settings.from_env({"TAI_REGION": "eu"}, region="us").region == "us"
    with pytest.raises(ValueError):
        Settings.from_env({"TAI_RETENTION_YEARS": "seven"})
