"""The `tai-graph` commands for ingest, ledger and SPARQL (metrics commands: `metrics_cmds`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tai_graph.cli.app import Customer, DataDir, app, echo_json, settings
from tai_graph.errors import LedgerError

if TYPE_CHECKING:
    from tai_graph.engine import Engine

#: ``tai-graph import`` compacts the store after importing this many events (kpi_bench: at 1M
#: events a month's KPIs go from 73 to 51 ms p50 after it).
OPTIMIZE_AFTER = 100_000

tenant_app = typer.Typer(help="Create and list customers.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")


def _engine(data_dir: Path | None):  # type: ignore[no-untyped-def]
    from tai_graph.engine import Engine

    return Engine(settings(data_dir))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    data_dir: DataDir = None,
    admin_key: Annotated[
        str | None, typer.Option(envvar="TAI_ADMIN_KEY", help="Admin key for POST /v1/tenants.")
    ] = None,
    store_url: Annotated[
        str | None,
        typer.Option(
            envvar="TAI_STORE_URL",
            help="SPARQL 1.1 query endpoint of a remote store (Oxigraph server: http://HOST:7878/query); "
            "default: the embedded store in the data dir.",
        ),
    ] = None,
    store_update_url: Annotated[
        str | None,
        typer.Option(
            envvar="TAI_STORE_UPDATE_URL",
            help="Its update endpoint (default: the query URL with /query replaced by /update).",
        ),
    ] = None,
) -> None:
    """Start the HTTP API.

    Example: tai-graph serve --host 127.0.0.1 --port 8000 --data-dir ./tai-data

    Example (remote store): tai-graph serve --data-dir ./tai-data --store-url http://127.0.0.1:7878/query
    """
    import uvicorn

    from tai_graph.api import create_app
    from tai_graph.engine import Engine

    engine = Engine(
        settings(data_dir, admin_key=admin_key, store_url=store_url, store_update_url=store_update_url)
    )
    uvicorn.run(create_app(engine), host=host, port=port, log_level="warning", access_log=False)


@tenant_app.command("create")
def tenant_create(
    customer_id: Annotated[str, typer.Argument(help="New customer id (A-Z a-z 0-9 . _ -).")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a customer and print its API key and secret (shown once).

    Example: tai-graph tenant create customer_001 --data-dir ./tai-data
    """
    creds = _engine(data_dir).create_tenant(customer_id, name)
    echo_json({"customer_id": creds.customer_id, "api_key": creds.api_key, "api_secret": creds.api_secret})


@tenant_app.command("list")
def tenant_list(data_dir: DataDir = None) -> None:
    """List customers (never their credentials).

    Example: tai-graph tenant list --data-dir ./tai-data
    """
    echo_json(
        [
            {"customer_id": t.customer_id, "name": t.name, "created": t.created}
            for t in _engine(data_dir).tenants.all()
        ]
    )


def _read_items(path: Path):  # type: ignore[no-untyped-def]
    from tai_graph import intake

    raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    fmt: intake.BodyFormat = "ndjson" if path.suffix in {".ndjson", ".jsonl"} else "json"
    if fmt == "json" and raw.lstrip()[:1] == b"{" and b"\n{" in raw:
        fmt = "ndjson"
    return intake.parse_body(raw, fmt)


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="JSON event, JSON array or NDJSON file ('-' for stdin).")],
    customer: Customer,
    atomic: Annotated[bool, typer.Option(help="All or nothing.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Ingest events and print their receipts and errors.

    Example: tai-graph ingest events.ndjson --customer customer_001 --data-dir ./tai-data
    """
    result = _engine(data_dir).ingest(customer, _read_items(path), atomic=atomic)
    echo_json(result.to_dict())
    if result.count("invalid") or result.count("conflict") or result.count("rejected"):
        raise typer.Exit(2)


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="NDJSON or JSON array of historical events ('-' for stdin).")],
    customer: Customer,
    batch_size: Annotated[int, typer.Option(help="Events per transaction.")] = 1000,
    optimize: Annotated[
        bool | None,
        typer.Option(
            "--optimize/--no-optimize",
            help=f"Compact the store afterwards (default: when {OPTIMIZE_AFTER:,} or more events were imported).",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Bulk historical import; prints the data-quality report.

    Example: tai-graph import history.ndjson --customer customer_001 --data-dir ./tai-data
    """
    engine = _engine(data_dir)
    report = engine.import_events(customer, _read_items(path), batch_size=batch_size)
    if optimize or (optimize is None and report.imported >= OPTIMIZE_AFTER):
        _optimize(engine)
    echo_json(report.to_dict())


@app.command("optimize")
def optimize_(data_dir: DataDir = None) -> None:
    """Compact the embedded store so KPI lookups stay fast (after large imports; a no-op remotely).

    Example: tai-graph optimize --data-dir ./tai-data
    """
    _optimize(_engine(data_dir))


def _optimize(engine: Engine) -> None:
    started = time.perf_counter()
    engine.optimize_store()
    typer.echo(f"optimized the store in {time.perf_counter() - started:.1f} s", err=True)


@app.command()
def verify(
    path: Annotated[
        Path, typer.Argument(help="Receipts: NDJSON, JSON array or an audit-trail JSON document.")
    ],
    secret: Annotated[
        str | None, typer.Option(envvar="TAI_API_SECRET", help="Customer API secret (checks HMACs).")
    ] = None,
    keys: Annotated[Path | None, typer.Option(help="Public keys: JWKS JSON (GET /v1/keys) or PEM.")] = None,
    start: Annotated[int, typer.Option(help="Sequence the set should start at.")] = 1,
) -> None:
    """Verify receipts offline: signatures and the hash chain. Names the first bad receipt.

    Example: tai-graph verify receipts.ndjson --keys keys.json
    """
    from tai_graph.ledger import load_public_keys, read_receipts, verify_receipts

    if secret is None and keys is None:
        raise LedgerError("give --secret (HMAC) and/or --keys (Ed25519 public keys) to verify against")
    public = load_public_keys(keys.read_text()) if keys is not None else None
    report = verify_receipts(read_receipts(path), secret=secret, public_keys=public, expect_start=start)
    echo_json(report.to_dict())
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def sparql(
    query: Annotated[str, typer.Argument(help="SPARQL query text, or @file.rq.")],
    customer: Customer,
    fmt: Annotated[str, typer.Option("--format", help="json, xml, csv, tsv, turtle, ntriples.")] = "csv",
    data_dir: DataDir = None,
) -> None:
    """Run a read-only SPARQL query over one customer's graph.

    Example: tai-graph sparql 'SELECT (COUNT(*) AS ?n) WHERE { ?e a <https://w3id.org/tai-graph/ns#Order> }' -c customer_001
    """
    text = Path(query[1:]).read_text() if query.startswith("@") else query
    answer = _engine(data_dir).sparql(customer, text, format_param=fmt)
    sys.stdout.buffer.write(answer.body)


@app.command()
def receipt(
    event_id: Annotated[str, typer.Argument(help="Event id.")],
    customer: Customer,
    canonical: Annotated[bool, typer.Option(help="Print the exact signed bytes instead.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Print an event's receipt (or its signed bytes, for `openssl dgst`).

    Example: tai-graph receipt evt_1 -c customer_001 --canonical | openssl dgst -sha256 -hmac "$API_SECRET"
    """
    r = _engine(data_dir).receipt(customer, event_id)
    if canonical:
        sys.stdout.buffer.write(r.signed_bytes)
    else:
        echo_json(r.body)


@app.command()
def checkpoint(customer: Customer, data_dir: DataDir = None) -> None:
    """Print the signed head of a customer's ledger.

    Example: tai-graph checkpoint -c customer_001
    """
    echo_json(_engine(data_dir).checkpoint(customer))


@app.command()
def keys(data_dir: DataDir = None) -> None:
    """Print the public verification keys (JWKS).

    Example: tai-graph keys --data-dir ./tai-data > keys.json
    """
    doc = _engine(data_dir).public_keys()
    echo_json({"keys": doc["keys"]})
