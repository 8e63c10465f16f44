"""The `perimeter` command line.

Exit codes: 0 the command ran (a scan completed, whatever it found, item errors included);
1 it could not run (bad target, credentials, endpoint, store); 2 usage or configuration error;
3 with ``--fail-on LEVEL``, an item at or above LEVEL was found.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from classifiers.classifier import ClassifierSettings
from connectors.base import connector_for_target, default_registry
from models import Level, Scan, ScanCounters, Source
from models.errors import AuthError, ConfigError
from scanner.executor import default_workers, local_pool
from scanner.limits import ExtractLimits
from scanner.sampling import DEFAULT_MAX_BYTES, Order, SamplingOptions
from scanner.worker import init_worker
from service.classify import Parsed, batches, classify_batch
from service.cli_common import err, errors_to_exit_codes, out
from service.keys import load_or_create_key
from service.runner import run_scan
from service.settings import Settings
from service.store import Store
from service.webhooks import notify_scan_finished

app = typer.Typer(
    name="perimeter",
    help="Find PII and secrets where your data lives, label it, and map it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="SQLite store [default: ./perimeter.db or $PERIMETER_DB]"),
]
PolicyOption = Annotated[
    Path | None, typer.Option("--policy", help="Level policy YAML (replaces or extends default).")
]
SourcesOption = Annotated[
    Path,
    typer.Option(
        "--sources", envvar="PERIMETER_SOURCES", help="Sources file (TOML/YAML) naming sources."
    ),
]
DEFAULT_SOURCES = Path("perimeter-sources.toml")
RulesOption = Annotated[
    list[Path] | None, typer.Option("--rules", help="Extra detector rule file (YAML); repeatable.")
]


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"


_errors_to_exit_codes = errors_to_exit_codes


def _settings(db: Path | None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"db": db}) if db is not None else settings


def _classifier_settings(
    settings: Settings, policy: Path | None, rules: list[Path] | None, public: Iterable[str] = ()
) -> ClassifierSettings:
    for path in [*(rules or []), *([policy] if policy else [])]:
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
    return ClassifierSettings(
        key=load_or_create_key(settings.key_file),
        rule_files=tuple(p.resolve() for p in rules or []),
        policy_file=policy.resolve() if policy else None,
        public_locations=tuple(public),
        pattern_backend=settings.pattern_engine,
    )


@app.command()
@_errors_to_exit_codes
def scan(
    target: Annotated[
        str | None, typer.Argument(help="./dir, file:///abs/dir or s3://bucket/prefix")
    ] = None,
    db: DbOption = None,
    endpoint_url: Annotated[
        str | None, typer.Option(help="S3-compatible endpoint (else $AWS_ENDPOINT_URL).")
    ] = None,
    budget: Annotated[
        int | None, typer.Option(min=1, help="Items to read per container (default: all).")
    ] = None,
    max_bytes: Annotated[int, typer.Option(min=1, help="Bytes read per item.")] = DEFAULT_MAX_BYTES,
    order: Annotated[Order, typer.Option(help="Which items a budget keeps.")] = Order.NEWEST,
    seed: Annotated[int, typer.Option(help="Seed for --order random.")] = 0,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Items fetched at once.")] = 8,
    policy: PolicyOption = None,
    rules: RulesOption = None,
    public: Annotated[
        list[str] | None, typer.Option(help="URI glob the policy treats as public; repeatable.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Source name [default: the target].")] = None,
    fail_on: Annotated[
        Level | None, typer.Option(help="Exit 3 if an item at or above this level is found.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
    source_name: Annotated[
        str | None, typer.Option("--source", help="Scan the source of this name (--sources).")
    ] = None,
    sources: SourcesOption = DEFAULT_SOURCES,
    full: Annotated[
        bool, typer.Option("--full", help="Rescan everything, not only what changed.")
    ] = False,
    limit: Annotated[
        list[str] | None,
        typer.Option(help="Extraction limit NAME=VALUE (docs/extraction.md); repeatable."),
    ] = None,
) -> None:
    """Scan a directory, a bucket or a declared source; classify what it holds; store it."""
    settings = _settings(db)
    if target is None and source_name is None:
        raise ConfigError("Missing argument 'TARGET' (or --source NAME from a sources file)")
    if target is not None and source_name is not None:
        raise ConfigError("give a TARGET or --source NAME, not both")
    if source_name is not None:
        from service.sources import source_connector

        connector, source = source_connector(sources, source_name)
    else:
        assert target is not None
        options: dict[str, Any] = {}
        if endpoint_url:
            options["endpoint_url"] = endpoint_url
        connector = connector_for_target(target, options)
        uri = target if "://" in target else Path(target).expanduser().resolve().as_uri()
        source = Source(kind=type(connector).kind, name=name or uri, uri=uri)
    sampling = SamplingOptions(
        budget=budget,
        max_bytes=max_bytes,
        order=order,
        seed=seed,
        limits=ExtractLimits.from_pairs(limit or []),
    )
    clf = _classifier_settings(settings, policy, rules, public or ())
    result = _run_scan_with_progress(
        settings, connector, source, clf, sampling, workers, concurrency, quiet, full
    )
    notify_scan_finished(settings.db, settings.vault_key_file, result)
    if not quiet:
        _print_summary(result, settings)
    if fail_on is not None:
        store = Store.open(settings.db)
        try:
            counts = store.level_counts(result.id)
        finally:
            store.close()
        if any(Level(lv).rank >= fail_on.rank and n for lv, n in counts.items()):
            raise typer.Exit(3)


def _run_scan_with_progress(
    settings: Settings,
    connector: Any,
    source: Source,
    clf: ClassifierSettings,
    sampling: SamplingOptions,
    workers: int | None,
    concurrency: int,
    quiet: bool,
    full: bool = False,
) -> Scan:
    store = Store.open(settings.db)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} items"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet or not err.is_terminal,
    )
    task = progress.add_task(f"scanning {source.uri}", total=None)

    def on_progress(c: ScanCounters) -> None:
        done = c.items_scanned + c.items_skipped + c.items_failed
        progress.update(task, completed=done, total=max(c.items_sampled, done) or None)

    try:
        with progress:
            return asyncio.run(
                run_scan(
                    store,
                    connector,
                    source,
                    clf,
                    sampling,
                    workers or settings.workers,
                    concurrency,
                    on_progress,
                    full=full,
                )
            )
    finally:
        store.close()


def _print_summary(scan: Scan, settings: Settings) -> None:
    c = scan.counters
    store = Store.open(settings.db)
    try:
        levels = store.level_counts(scan.id)
    finally:
        store.close()
    out.print(
        f"Scanned [bold]{scan.target}[/bold]: {c.items_scanned} items scanned "
        f"({c.items_partial} partial), {c.items_skipped} skipped, {c.items_failed} failed, "
        f"{c.bytes_read:,} bytes, {c.findings} findings.",
        highlight=False,
    )
    parts = [
        f"{lv.value}: {levels.get(lv.value, 0)}" for lv in sorted(Level, key=lambda x: -x.rank)
    ]
    out.print("Levels  " + "   ".join(parts), highlight=False)
    out.print(f"Store   {settings.db}  (perimeter map --db {settings.db} --items)", highlight=False)


@app.command("map")
@_errors_to_exit_codes
def map_(
    db: DbOption = None,
    items: Annotated[bool, typer.Option("--items", help="One record per scanned item.")] = False,
    findings: Annotated[
        bool, typer.Option("--findings", help="With --items: include findings and locations.")
    ] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.TABLE,
) -> None:
    """Show the data map: where sensitive data lives, by source, container and level."""
    settings = _settings(db)
    if not settings.db.exists():
        raise ConfigError(f"{settings.db}: no store here yet; run `perimeter scan` first")
    store = Store.open(settings.db)
    try:
        if items:
            _print_records(store.items(with_findings=findings), fmt, _items_table)
        else:
            _print_records(iter(store.data_map()), fmt, _map_table)
    finally:
        store.close()


def _print_records(
    records: Iterator[dict[str, Any]],
    fmt: OutputFormat,
    table: Callable[[list[dict[str, Any]]], Table],
) -> None:
    if fmt is OutputFormat.JSONL:
        for rec in records:
            sys.stdout.write(json.dumps(rec) + "\n")
    elif fmt is OutputFormat.JSON:
        sys.stdout.write(json.dumps(list(records), indent=2) + "\n")
    else:
        out.print(table(list(records)))


_LEVEL_STYLE = {
    "restricted": "bold red",
    "confidential": "yellow",
    "internal": "cyan",
    "public": "green",
}


def _map_table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="Data map", title_justify="left")
    for col in ("source", "container", "level", "items", "findings", "failed", "types"):
        numeric = col in ("items", "findings", "failed")
        t.add_column(col, justify="right" if numeric else "left", overflow="fold")
    for r in rows:
        t.add_row(
            r["source"],
            _relative(r["container"], r["source_uri"]),
            f"[{_LEVEL_STYLE[r['level']]}]{r['level']}[/]",
            str(r["items"]),
            str(r["findings"] or 0),
            str(r["failed"]),
            ", ".join(r["types"]),
        )
    return t


def _relative(uri: str, base: str) -> str:
    """A container shown relative to its source: `hr/` rather than the whole URI."""
    if uri == base:
        return "."
    if uri.startswith(base.rstrip("/") + "/"):
        return uri[len(base.rstrip("/")) + 1 :] + "/"
    return uri


def _items_table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="Items", title_justify="left")
    for col in ("level", "exposure", "uri", "types", "status", "error"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(
            f"[{_LEVEL_STYLE[r['level']]}]{r['level']}[/]",
            r.get("exposure") or "",
            r["uri"] + (f"\n{r['web_url']}" if r.get("web_url") else ""),
            ", ".join(r["types"]),
            r["status"],
            r["error"] or "",
        )
    return t


@app.command()
@_errors_to_exit_codes
def classify(
    source: Annotated[str, typer.Argument(help="JSON Lines file, or - for standard input")] = "-",
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes.")] = None,
    batch: Annotated[int, typer.Option(min=1, help="Lines per worker task.")] = 64,
    policy: PolicyOption = None,
    rules: RulesOption = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Add each finding's likelihood and decision trace (pattern, checks, score).",
        ),
    ] = False,
) -> None:
    """Classify {"id", "text"} JSON lines; write {"id", "level", "findings"} lines in order."""
    settings = Settings()
    clf = _classifier_settings(settings, policy, rules)
    if source == "-":
        _classify_stream(sys.stdin, clf, workers or settings.workers, batch, explain)
        return
    try:
        fh = open(source, encoding="utf-8")  # noqa: SIM115 - closed below, after streaming
    except OSError as exc:
        raise ConfigError(f"{source}: {exc.strerror}") from exc
    with fh:
        _classify_stream(fh, clf, workers or settings.workers, batch, explain)


def _classify_stream(
    lines: Iterable[str],
    clf: ClassifierSettings,
    workers: int | None,
    size: int,
    explain: bool = False,
) -> None:
    """Streams in constant memory: at most a few batches per worker are in flight."""
    parsed_batches = batches(lines, size)
    first = next(parsed_batches, None)
    if first is None:
        return
    second = next(parsed_batches, None)
    if second is None:  # a single batch: not worth starting a pool
        init_worker(clf)
        _write_lines(classify_batch(first, explain))
        return
    n = workers or default_workers()
    pool = local_pool(clf, n)
    pending: deque[Future[list[str]]] = deque()
    try:
        for parsed in _chain(first, second, parsed_batches):
            pending.append(pool.submit(classify_batch, parsed, explain))
            while len(pending) >= n * 3:
                _write_lines(pending.popleft().result())
        while pending:
            _write_lines(pending.popleft().result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _chain(first: Parsed, second: Parsed, rest: Iterator[Parsed]) -> Iterator[Parsed]:
    yield first
    yield second
    yield from rest


def _write_lines(lines: list[str]) -> None:
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


@app.command()
@_errors_to_exit_codes
def check(
    source_name: Annotated[str, typer.Argument(metavar="SOURCE", help="A name in --sources.")],
    sources: SourcesOption = DEFAULT_SOURCES,
) -> None:
    """Verify a source's credentials; list the scopes granted; warn when broader than needed."""
    from service.sources import check_source

    report = asyncio.run(check_source(sources, source_name))
    if report is None:
        out.print(f"{source_name}: reachable; this connector does not report scopes")
        return
    out.print(f"{source_name}: authenticated as {report.identity}", highlight=False)
    granted = "(the API does not say)" if report.granted is None else ", ".join(report.granted)
    out.print(f"  granted:  {granted}", highlight=False)
    out.print(f"  needed:   {', '.join(report.needed)}", highlight=False)
    if report.optional:
        out.print(f"  optional: {', '.join(report.optional)}", highlight=False)
    for note in report.notes:
        out.print(f"  note: {note}", highlight=False)
    if report.broader:
        err.print(
            f"warning: {source_name}: granted more than a scan needs; remove: "
            + ", ".join(report.broader),
            highlight=False,
        )
    if report.missing:
        raise AuthError(f"{source_name}: missing scopes a scan needs: {', '.join(report.missing)}")


@app.command()
@_errors_to_exit_codes
def connectors() -> None:
    """List the connector kinds and the settings each accepts (JSON Schema)."""
    registry = default_registry()
    schemas = {kind: registry.get(kind).Config.model_json_schema() for kind in registry.kinds()}
    sys.stdout.write(json.dumps(schemas, indent=2) + "\n")


@app.command()
@_errors_to_exit_codes
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write the demo workspace.")
    ] = Path("perimeter-demo"),
    db: DbOption = None,
) -> None:
    """Generate a small workspace of fake but realistic data, scan it, and show the map."""
    from service.demo_workspace import PUBLIC_PREFIXES, write_workspace

    settings = _settings(db)
    root = directory.expanduser().resolve()
    files = write_workspace(root)
    out.print(f"Wrote {len(files)} demo files of fake data to {root}", highlight=False)
    public = [(root / prefix).as_uri().rstrip("/") + "/*" for prefix in PUBLIC_PREFIXES]
    clf = _classifier_settings(settings, None, None, public)
    connector = connector_for_target(str(root), {})
    source = Source(kind="local", name=f"demo:{root.name}", uri=root.as_uri())
    result = _run_scan_with_progress(
        settings, connector, source, clf, SamplingOptions(), settings.workers, 8, False
    )
    _print_summary(result, settings)
    store = Store.open(settings.db)
    try:
        rows = [r for r in store.data_map() if r["source"] == source.name]
    finally:
        store.close()
    out.print(_map_table(rows))
    out.print(
        "Next: `perimeter map --items` lists every item with its level and data types;\n"
        "      `perimeter map --items --findings --format json` adds masked evidence and where\n"
        "      each finding is; `perimeter scan ./your/folder` scans your own data.",
        highlight=False,
    )


def _register_server_commands() -> None:
    from service.cli_server import keys_app, serve

    app.add_typer(keys_app, name="keys")
    app.command()(errors_to_exit_codes(serve))


_register_server_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
