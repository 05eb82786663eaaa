"""Command definitions. Errors map to exit codes in one place (:func:`main`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tai_graph.config import Settings
from tai_graph.errors import (
    Conflict,
    InvalidInput,
    LedgerError,
    NotFound,
    TaiGraphError,
    Unauthorized,
)

app = typer.Typer(
    name="tai-graph",
    help="TAI Graph: SHACL-validated events, signed receipts, SPARQL KPIs, baselines and ROI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", "-d", envvar="TAI_DATA_DIR", help="Data directory (store, keys, tenants)."),
]
Customer = Annotated[str, typer.Option("--customer", "-c", envvar="TAI_CUSTOMER", help="Customer id.")]

#: exit codes per error class, most specific first
EXIT_CODES: list[tuple[type[TaiGraphError], int]] = [
    (InvalidInput, 2),
    (NotFound, 3),
    (Conflict, 4),
    (Unauthorized, 5),
    (LedgerError, 6),
    (TaiGraphError, 1),
]


def settings(data_dir: Path | None, **overrides: Any) -> Settings:
    return Settings.from_env(data_dir=data_dir, **overrides)


def echo_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


def main() -> None:
    """Entry point: run the app and turn TAI Graph errors into messages and exit codes."""
    from tai_graph.cli import commands, metrics_cmds  # noqa: F401  (registers the commands)

    try:
        app(standalone_mode=False)
    except TaiGraphError as exc:
        code = next(c for cls, c in EXIT_CODES if isinstance(exc, cls))
        typer.echo(f"error ({exc.code}): {exc.message}", err=True)
        if exc.details:
            typer.echo(json.dumps(exc.details, indent=2, default=str), err=True)
        sys.exit(code)
    except typer.Abort:
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
