"""The `perimeter` command line.

Exit codes: 0 the command ran (a scan completed, whatever it found, item errors included);
1 it could not run (bad target, credentials, endpoint, store); 2 usage or configuration error;
3 with ``--fail-on LEVEL``, an item at or above LEVEL was found.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from classifiers.classifier import ClassifierSettings
from connectors.base import connector_for_target, default_registry
from models import Level, Scan, ScanCounters, Source
from models.errors import ConfigError, PerimeterError
from scanner.executor import default_workers, local_pool
from scanner.sampling import DEFAULT_MAX_BYTES, Order, SamplingOptions
from scanner.worker import classify_texts, init_worker
from service.keys import load_or_create_key
from service.runner import run_scan
from service.settings import Settings
from service.store import Store

app = typer.Typer(
    name="perimeter",
    help="Find PII and secrets where your data lives, label it, and map it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)
# Piped output (CI logs, files) gets a wide table rather than rich's 80-column default.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)

F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="SQLite store [default: ./perimeter.db or $PERIMETER_DB]"),
]
PolicyOption = Annotated[
    Path | None, typer.Option("--policy", help="Level policy YAML (replaces or extends default).")
]
RulesOption = Annotated[
    list[Path] | None, typer.Option("--rules", help="Extra detector rule file (YAML); repeatable.")
]


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"


def _errors_to_exit_codes(fn: F) -> F:
    """One place maps the error tree to exit codes and one-line messages (no tracebacks)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from None
        except PerimeterError as exc:
            err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


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
    )


@app.command()
@_errors_to_exit_codes
def scan(
    target: Annotated[str, typer.Argument(help="./dir, file:///abs/dir or s3://bucket/prefix")],
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
) -> None:
    """Scan a directory or bucket, classify what it holds, and store the results."""
    settings = _settings(db)
    options: dict[str, Any] = {}
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    connector = connector_for_target(target, options)
    sampling = SamplingOptions(budget=budget, max_bytes=max_bytes, order=order, seed=seed)
    clf = _classifier_settings(settings, policy, rules, public or ())
    uri = target if "://" in target else Path(target).expanduser().resolve().as_uri()
    source = Source(kind=type(connector).kind, name=name or uri, uri=uri)
    result = _run_scan_with_progress(
        settings, connector, source, clf, sampling, workers, concurrency, quiet
    )
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
    for col in ("level", "uri", "types", "status", "error"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(
            f"[{_LEVEL_STYLE[r['level']]}]{r['level']}[/]",
            r["uri"],
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
) -> None:
    """Classify {"id", "text"} JSON lines; write {"id", "level", "findings"} lines in order."""
    settings = Settings()
    clf = _classifier_settings(settings, policy, rules)
    if source == "-":
        _classify_stream(sys.stdin, clf, workers or settings.workers, batch)
        return
    try:
        fh = open(source, encoding="utf-8")  # noqa: SIM115 - closed below, after streaming
    except OSError as exc:
        raise ConfigError(f"{source}: {exc.strerror}") from exc
    with fh:
        _classify_stream(fh, clf, workers or settings.workers, batch)


def _parse_line(number: int, line: str) -> tuple[Any, str | None, str | None]:
    """(id, text, error) of one input line."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, None, f"line {number}: invalid JSON ({exc.msg})"
    if not isinstance(obj, dict):
        return None, None, f"line {number}: expected an object with id and text"
    text = obj.get("text")
    if not isinstance(text, str):
        return obj.get("id"), None, f"line {number}: 'text' must be a string"
    return obj.get("id"), text, None


Parsed = list[tuple[Any, str | None, str | None]]


def _batches(lines: Iterable[str], size: int) -> Iterator[Parsed]:
    batch: Parsed = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        batch.append(_parse_line(number, line))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _classify_batch(parsed: Parsed) -> list[str]:
    """Runs in a worker: classify the good lines of a batch, render every line."""
    texts = [text for _, text, error in parsed if error is None and text is not None]
    results = iter(classify_texts(texts))
    rendered = []
    for ident, _text, error in parsed:
        if error is not None:
            rendered.append(json.dumps({"id": ident, "error": error}))
            continue
        findings, classification = next(results)
        rendered.append(
            json.dumps(
                {
                    "id": ident,
                    "level": classification.level.value,
                    "findings": [
                        {
                            "type": f.type,
                            "category": f.category.value,
                            "start": f.start,
                            "end": f.end,
                            "score": f.score,
                            "detector": f.detector,
                            "evidence": f.evidence,
                        }
                        for f in findings
                    ],
                }
            )
        )
    return rendered


def _classify_stream(
    lines: Iterable[str], clf: ClassifierSettings, workers: int | None, size: int
) -> None:
    """Streams in constant memory: at most a few batches per worker are in flight."""
    batches = _batches(lines, size)
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None)
    if second is None:  # a single batch: not worth starting a pool
        init_worker(clf)
        _write_lines(_classify_batch(first))
        return
    n = workers or default_workers()
    pool = local_pool(clf, n)
    pending: deque[Future[list[str]]] = deque()
    try:
        for parsed in _chain(first, second, batches):
            pending.append(pool.submit(_classify_batch, parsed))
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
