"""An acknowledged event survives kill -9; sequences stay gap-free (SPEC §2.2)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tai_graph.config import Settings
from tai_graph.engine import Engine
from tai_graph.ledger import verify_receipts

WRITER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from tai_graph.config import Settings
    from tai_graph.engine import Engine

    engine = Engine(Settings(data_dir=Path(sys.argv[1])))
    n = 0
    while True:  # until killed
        batch = []
        for _ in range(50):
            n += 1
            batch.append({"event_id": f"e{n}", "timestamp": "2026-01-19T10:00:00Z",
                          "transaction_type": "work_log",
                          "data": {"activity": "sku_reconciliation", "hours": "0.5"}})
        result = engine.ingest("acme", batch)
        acked = [o.event_id for o in result.outcomes if o.status == "created"]
        print(json.dumps({"acked": acked, "last_seq": result.outcomes[-1].receipt.sequence}), flush=True)
    """
)


def test_kill_9_loses_no_acknowledged_event(tmp_path: Path) -> None:
    data = tmp_path / "data"
    engine = Engine(Settings(data_dir=data))
    creds = engine.create_tenant("acme")
    engine.close()
    del engine

    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data)], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    acked: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while len(acked) < 3000 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acked += json.loads(line)["acked"]
    proc.send_signal(signal.SIGKILL)  # mid-stream: the writer is inside its next batch
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= 3000, "the writer should have acknowledged events before the kill"

    engine = Engine(Settings(data_dir=data))
    for event_id in acked:
        assert engine.receipt("acme", event_id).event_id == event_id
    head = engine.ingestor.head("acme")
    assert head.sequence >= len(acked)
    receipts = [engine.receipt_by_sequence("acme", s) for s in range(1, head.sequence + 1)]
    assert all(r is not None for r in receipts), "sequence has a gap"
    report = verify_receipts(
        [r.body for r in receipts if r is not None],
        secret=creds.api_secret,
        public_keys={engine.key.key_id: engine.key.public_key()},
    )
    assert report.ok, report
    # the store keeps working after the crash: the chain continues where it stopped
    more = engine.ingest(
        "acme",
        [
            {
                "event_id": "after",
                "timestamp": "2026-01-19T11:00:00Z",
                "transaction_type": "work_log",
                "data": {"activity": "compliance_check", "hours": 1},
            }
        ],
    )
    assert more.outcomes[0].receipt is not None
    assert more.outcomes[0].receipt.sequence == head.sequence + 1
