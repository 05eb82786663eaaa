"""The `tai-graph` commands for KPIs, baselines, value and the demo."""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from tai_graph.cli.app import Customer, DataDir, app, echo_json, settings
from tai_graph.errors import InvalidInput

query_app = typer.Typer(help="List, run and test named SPARQL queries.", no_args_is_help=True)
baseline_app = typer.Typer(help="Freeze and show signed baselines.", no_args_is_help=True)
engagement_app = typer.Typer(
    help="Engagement settings (currency, costs, contract value).", no_args_is_help=True
)
app.add_typer(query_app, name="query")
app.add_typer(baseline_app, name="baseline")
app.add_typer(engagement_app, name="engagement")

From = Annotated[
    str, typer.Option("--from", help="Period start (inclusive): RFC 3339 with zone, or YYYY-MM-DD.")
]
To = Annotated[str, typer.Option("--to", help="Period end (exclusive): RFC 3339 with zone, or YYYY-MM-DD.")]
QueryDir = Annotated[
    list[Path] | None, typer.Option("--queries", help="Extra folder of .rq files (repeatable).")
]


def _engine(data_dir: Path | None, query_dirs: list[Path] | None = None):  # type: ignore[no-untyped-def]
    from tai_graph.config import resource_dir
    from tai_graph.engine import Engine

    overrides: dict[str, Any] = {}
    if query_dirs:
        overrides["query_dirs"] = (resource_dir("queries"), *query_dirs)
    return Engine(settings(data_dir, **overrides))


def _params(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise InvalidInput(
                f"parameter {pair!r} must be NAME=VALUE", details={"parameter": pair, "rule": "format"}
            )
        out[name] = value
    return out


@query_app.command("list")
def query_list(queries: QueryDir = None) -> None:
    """List the named queries with their titles and units.

    Example: tai-graph query list --queries ./my-queries
    """
    from tai_graph.config import resource_dir
    from tai_graph.queries import QueryRegistry

    registry = QueryRegistry.load([resource_dir("queries"), *(queries or [])])
    for q in registry:
        typer.echo(f"{q.name:24} {q.unit:12} {q.title}")


@query_app.command("run")
def query_run(
    name: Annotated[str, typer.Argument(help="Query name.")],
    customer: Customer,
    from_: From,
    to: To,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE (repeatable).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
    sparql: Annotated[
        bool, typer.Option("--sparql", help="Print the query as bound for the period instead of running it.")
    ] = False,
    queries: QueryDir = None,
    data_dir: DataDir = None,
) -> None:
    """Run one named query for a period.

    Example: tai-graph query run orders -c customer_001 --from 2026-01-01 --to 2026-02-01 -p channel=amazon
    """
    engine = _engine(data_dir, queries)
    params = {**_params(param), "from": from_, "to": to}
    if sparql:  # the exact text the figure comes from: `tai-graph sparql @file.rq` runs it unchanged
        typer.echo(engine.bound_query(name, params).text, nl=False)
        return
    result = engine.run_query(customer, name, params)
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        rows = result.to_dict()["rows"]
        assert isinstance(rows, list)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in result.columns])
    else:
        echo_json(result.to_dict())


@query_app.command("test")
def query_test(
    names: Annotated[list[str] | None, typer.Argument(help="Only these queries.")] = None,
    queries: QueryDir = None,
) -> None:
    """Run the queries' data-driven tests (fixture events + expected results), no Python needed.

    Example: tai-graph query test --queries ./my-queries
    """
    from tai_graph.config import Settings, resource_dir
    from tai_graph.engine import Engine
    from tai_graph.queries import QueryRegistry
    from tai_graph.querytest import CaseEngine, case_dirs, format_results, run_query_tests

    dirs = [resource_dir("queries"), *(queries or [])]
    registry = QueryRegistry.load(dirs)

    def make_engine() -> CaseEngine:
        return cast(CaseEngine, Engine(Settings(query_dirs=tuple(dirs))))

    results = run_query_tests(registry, case_dirs(dirs), make_engine, names=names or None)
    typer.echo(format_results(results))
    if not results or not all(r.passed for r in results):
        raise typer.Exit(1)


@app.command()
def kpis(
    customer: Customer,
    from_: From,
    to: To,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    data_dir: DataDir = None,
) -> None:
    """Every KPI for a period.

    Example: tai-graph kpis -c customer_001 --from 2026-01-19 --to 2026-02-16
    """
    from tai_graph.reports import render_kpi_table

    table = _engine(data_dir).kpis(customer, from_, to)
    if fmt == "json":
        echo_json(table.to_dict())
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["name", "value", "text_sha256"])
        for r in table.results:
            writer.writerow([r.name, r.to_dict()["value"], r.text_sha256])
    else:
        typer.echo(render_kpi_table(table))


@engagement_app.command("set")
def engagement_set(
    customer: Customer,
    path: Annotated[
        Path,
        typer.Argument(
            help="JSON file with currency, cost_per_hour, cost_per_error, "
            "cost_per_violation, annual_contract_value."
        ),
    ],
    data_dir: DataDir = None,
) -> None:
    """Set the engagement settings from a JSON file.

    Example: tai-graph engagement set -c customer_001 engagement.json
    """
    echo_json(_engine(data_dir).set_engagement(customer, json.loads(path.read_text())).to_dict())


@engagement_app.command("show")
def engagement_show(customer: Customer, data_dir: DataDir = None) -> None:
    """Show the engagement settings.

    Example: tai-graph engagement show -c customer_001
    """
    echo_json(_engine(data_dir).engagement(customer).to_dict())


@baseline_app.command("freeze")
def baseline_freeze(
    customer: Customer,
    from_: From,
    to: To,
    attested: Annotated[Path | None, typer.Option(help="JSON file of attested figures.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Freeze a period's KPIs into a signed baseline; prints it (with its id).

    Example: tai-graph baseline freeze -c customer_001 --from 2025-10-07 --to 2026-01-05
    """
    body: dict[str, Any] = {"from": from_, "to": to}
    if attested is not None:
        body["attested"] = json.loads(attested.read_text())
    echo_json(_engine(data_dir).freeze_baseline(customer, body))


@baseline_app.command("show")
def baseline_show(
    baseline_id: Annotated[str, typer.Argument(help="Baseline id.")],
    customer: Customer,
    data_dir: DataDir = None,
) -> None:
    """Show a baseline after checking its signatures.

    Example: tai-graph baseline show bl_20260105_1a2b3c4d -c customer_001
    """
    echo_json(_engine(data_dir).baseline(customer, baseline_id))


@app.command()
def value(
    customer: Customer,
    baseline: Annotated[str, typer.Option(help="Baseline id.")],
    from_: From,
    to: To,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    data_dir: DataDir = None,
) -> None:
    """Value realised in a period against a baseline: the five metrics, ROI and payback.

    Example: tai-graph value -c customer_001 --baseline bl_… --from 2026-01-19 --to 2026-02-16
    """
    from tai_graph.reports import render_value_text

    doc = _engine(data_dir).value(customer, baseline, from_, to)
    if fmt == "json":
        echo_json(doc)
    else:
        typer.echo(render_value_text(doc))


@app.command()
def demo(
    data_dir: DataDir = None,
    seed: Annotated[int, typer.Option(help="Dataset seed (same seed, same data).")] = 7,
    scale: Annotated[float, typer.Option(help="Multiplies the machine-made event volume.")] = 1.0,
) -> None:
    """Load customer #1's realistic dataset, freeze the baseline, print KPIs and the value report.

    Example: tai-graph demo --data-dir ./tai-demo
    """
    from tai_graph.demo import generate
    from tai_graph.demo_run import run_demo
    from tai_graph.engine import Engine
    from tai_graph.reports import render_kpi_table, render_value_text

    folder = data_dir or Path(tempfile.mkdtemp(prefix="tai-demo-"))
    engine = Engine(settings(folder))
    ds = generate(seed, scale=scale)
    typer.echo(f"TAI Graph demo — {ds.customer_id}, seed {seed}; embedded store in {folder}\n")
    out = run_demo(engine, ds)
    r = out.import_report
    typer.echo(
        f"Imported {r.imported} of {r.records_read} records in {out.timings['import']:.1f} s "
        f"({r.duplicates} duplicate, {r.conflicts} conflicting, {r.rejected} rejected: "
        + ", ".join(f"{k} {v}" for k, v in sorted(r.rejected_by_rule.items()))
        + ")"
    )
    typer.echo(
        f"Receipts: {out.receipts_verified} verified (HMAC, Ed25519, hash chain): "
        f"{'all valid' if out.receipts_ok else 'PROBLEMS FOUND'}\n"
    )
    typer.echo(
        f"Baseline {out.baseline['id']} frozen and signed for {ds.baseline_period[0]} to {ds.baseline_period[1]}"
    )
    typer.echo(render_kpi_table(out.baseline_kpis))
    typer.echo(f"\nCurrent period {ds.current_period[0]} to {ds.current_period[1]}")
    typer.echo(render_kpi_table(out.current_kpis))
    typer.echo("")
    typer.echo(render_value_text(out.value))
    typer.echo(
        f"\nExplore it: tai-graph serve --data-dir {folder}   "
        f"(KPIs for both periods took {out.timings['kpis'] * 1000:.0f} ms)"
    )
