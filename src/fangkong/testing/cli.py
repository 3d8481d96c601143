"""``fangkong testing …``: rounds, samples, lab results, coverage, routine testing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table

from fangkong import cliutil
from fangkong.clock import LOCAL_TZ
from fangkong.config import get_settings
from fangkong.errors import ImportRejected, InvalidInput
from fangkong.flows import rounds
from fangkong.lake.layout import lake_root
from fangkong.testing import labs, lists, outcome, results, routine, samples, service
from fangkong.testing.fhir import LabResult, parse_bundle
from fangkong.testing.plan_xlsx import plan_workbook
from fangkong.tracing import service as tracing_service

app = typer.Typer(help="Mass nucleic-acid testing (全员核酸检测) and routine testing.")
round_app = typer.Typer(help="Rounds of mass testing (轮次).", no_args_is_help=True)
app.add_typer(round_app, name="round")
lab_app = typer.Typer(help="The city's testing labs (检测机构).", no_args_is_help=True)
app.add_typer(lab_app, name="lab")
out = Console()


def _when(value: str) -> datetime:
    """ISO 8601; local (Asia/Shanghai) time when no offset is given."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=LOCAL_TZ)


@round_app.command("create")
def create(
    code: str = typer.Argument(..., help="Round code, e.g. ZB-2022-03-21."),
    areas: list[str] = typer.Option(
        ..., "--area", help="District or street (code or name), or community c<id>; repeat."
    ),
    starts: str = typer.Option(..., "--starts", help="Start, ISO 8601 (local time by default)."),
    ends: str = typer.Option(None, "--ends", help="End; default the policy's round hours."),
    name: str = typer.Option(None, "--name", help="Title; default 全员核酸检测 CODE."),
    kind: str = typer.Option(
        "mass", "--kind", help="mass (residents) or routine (workers of key industries)."
    ),
    pool_mode: str = typer.Option("fixed", "--pool-mode", help="fixed or by_area (Dorfman)."),
    pool_size: int = typer.Option(None, "--pool-size", help="Fixed size; default the policy's."),
    three_stage: bool = typer.Option(False, "--three-stage", help="by_area: sub-pools first."),
    plan: Path = typer.Option(None, "--plan", help="Also write the sampling plan (.xlsx)."),
) -> None:
    """Create a round: pool size per area, population due, sampling points."""
    settings = get_settings()
    spec = service.RoundSpec(
        code=code,
        name=name or (f"全员核酸检测 {code}" if kind == "mass" else f"常态化核酸检测 {code}"),
        kind=kind,
        city_code=settings.city,
        areas=areas,
        starts_at=_when(starts),
        ends_at=_when(ends) if ends else None,
        pool_mode=pool_mode,
        pool_size=pool_size,
        three_stage=three_stage,
    )
    policy, now = cliutil.policy(), cliutil.clock().now()
    with cliutil.unit_of_work(settings) as session:
        round_ = rounds.create_round(
            session,
            spec,
            lake=lake_root(settings.home),
            policy=policy,
            now=now,
            actor="cli",
            scope=cliutil.city_scope(),
        )
        table = Table("area", "population", "positivity", "pool", "rule")
        for a in round_.areas:
            size = f"{a.pool_size}→{a.three_stage_size}" if a.three_stage_size else str(a.pool_size)
            table.add_row(
                a.name, f"{a.population:,}", f"{a.positivity or 0:.4%}", size, a.pool_rule
            )
        out.print(table)
        points = service.points_of(session, round_, cliutil.city_scope())
        out.print(
            f"round {round_.code}: {round_.due_count:,} due, {len(points):,} sampling points, "
            f"{sum(p.staff for p in points):,} sampling staff, "
            f"{sum(p.tables for p in points):,} tables"
        )
        if plan:
            workbook = service.plan_of(session, round_, policy=policy, scope=cliutil.city_scope())
            plan.write_bytes(plan_workbook(workbook, title=round_.name))
            out.print(f"plan written to {plan}")


@round_app.command("list")
def list_rounds() -> None:
    """Rounds, newest first."""
    with cliutil.unit_of_work() as session:
        table = Table("code", "name", "starts", "status", "due", "pool")
        for r in service.list_rounds(session, scope=cliutil.city_scope()):
            table.add_row(
                r.code,
                r.name,
                r.starts_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
                r.status,
                f"{r.due_count:,}",
                r.pool_mode if r.pool_mode == "by_area" else str(r.pool_size),
            )
        out.print(table)


@lab_app.command("add")
def add_lab(
    code: str = typer.Argument(..., help="The lab's code, which lab accounts are bound to."),
    name: str = typer.Argument(..., help="The lab's name, e.g. 市疾控检测实验室."),
) -> None:
    """Register a lab of the configured city, so that accounts may be bound to it."""
    with cliutil.unit_of_work() as session:
        lab = labs.register_lab(
            session,
            city_code=get_settings().city,
            code=code,
            name=name,
            now=cliutil.clock().now(),
        )
        out.print(f"lab {lab.code} registered: {lab.name}")


@lab_app.command("list")
def list_labs() -> None:
    """The labs of the configured city."""
    with cliutil.unit_of_work() as session:
        table = Table("code", "name")
        for lab in labs.list_labs(session, city_code=get_settings().city):
            table.add_row(lab.code, lab.name)
        out.print(table)


samples_app = typer.Typer(help="Samples (采样记录) into the lake.", no_args_is_help=True)
results_app = typer.Typer(help="Lab results (检测结果) into the lake.", no_args_is_help=True)
app.add_typer(samples_app, name="samples")
app.add_typer(results_app, name="results")
FILE = typer.Argument(..., exists=True, dir_okay=False, help=".csv or .parquet")
ROUND = typer.Option(..., "--round", help="The round's code.")


def _parquet_rows(file: Path) -> int | None:
    if file.suffix.lower() != ".parquet":
        return None
    return int(pq.ParquetFile(file).metadata.num_rows)


def _checked_round(code: str) -> tuple[int, ...]:
    """The open round's allowed tube sizes."""
    with cliutil.unit_of_work() as session:
        round_ = service.get_round(session, code=code, scope=cliutil.city_scope())
        service.require_open(round_)
        return service.tube_sizes(round_, cliutil.policy())


@samples_app.command("import")
def import_samples(file: Path = FILE, round_code: str = ROUND) -> None:
    """Import samples (person_id, tube_barcode, tube_size, point_code, sampled_at). All or
    nothing; duplicates, over-full tubes and mixed sizes are rejected; re-importing adds
    nothing."""
    sizes = _checked_round(round_code)
    lake = lake_root(get_settings().home)
    report = cliutil.run_lake_import(
        file,
        kind="testing_sample",
        run=lambda _, progress: samples.import_samples(
            lake, round_code, file, allowed_sizes=sizes, progress=progress
        ),
        counts=lambda r: {"added": r.added, "duplicates": r.duplicates},
        rows=lambda r: r.rows,
        total=_parquet_rows(file),
    )
    out.print(
        f"added {report.added:,}, duplicates {report.duplicates:,}, tubes {report.tubes:,}, "
        f"{report.rows_per_s:,.0f} rows/s"
    )


@results_app.command("import")
def import_results(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".csv or FHIR .json"),
    round_code: str = ROUND,
) -> None:
    """Import lab results per tube: CSV (tube_barcode, result, lab, resulted_at[, ct_orf1ab,
    ct_n]) or an HL7 FHIR Bundle (.json). Idempotent; a conflicting result is rejected."""
    with cliutil.unit_of_work() as session:
        service.round_for_lab(session, code=round_code, scope=cliutil.city_scope())
    lake = lake_root(get_settings().home)
    source: Path | list[LabResult] = file
    if file.suffix.lower() == ".json":
        try:
            source = parse_bundle(file.read_bytes())
        except ImportRejected as exc:
            cliutil.print_import_rejection(exc, lake=True)
            raise typer.Exit(1) from None
        except InvalidInput as exc:
            cliutil.console.print(f"[red]error[/red] ({exc.code}): {exc.message}")
            raise typer.Exit(1) from None
    report = cliutil.run_lake_import(
        file,
        kind="testing_result",
        run=lambda _, progress: results.import_results(
            lake, round_code, source, source=f"file:{file.name}", progress=progress
        ),
        counts=lambda r: {"added": r.added, "duplicates": r.duplicates, "positive": r.positive},
        rows=lambda r: r.rows,
    )
    out.print(
        f"added {report.added:,}, duplicates {report.duplicates:,}, positive {report.positive:,}, "
        f"invalid {report.invalid:,}"
    )


@app.command("apply")
def apply_round(round_code: str = typer.Argument(..., help="The round's code.")) -> None:
    """Apply the round's results: recall lists, cases from positive single tubes (traced at
    once), coverage. Safe to repeat."""
    settings = get_settings()
    engine = tracing_service.open_lake(
        home=settings.home, engine=settings.engine, spark_master=settings.spark_master
    )
    with cliutil.unit_of_work(settings) as session:
        round_ = service.get_round(session, code=round_code, scope=cliutil.city_scope())
        report = rounds.apply_round(
            session,
            round_,
            lake=lake_root(settings.home),
            policy=cliutil.policy(),
            now=cliutil.clock().now(),
            scope=cliutil.city_scope(),
            con=engine.con,
        )
    f, c = report.figures, report.figures["counts"]
    out.print(
        f"due {c['due']:,}: sampled {c['sampled']:,}, exempt {c['exempt']:,}, missing "
        f"{c['missing']:,}; pool positive {c['pool_positive']:,}, positive {c['positive']:,}"
    )
    out.print(
        f"tests per person {f['tests_per_person']:.4f} (fixed {f['fixed_size']}-in-1: "
        f"{f['fixed_tests_per_person']:.4f}, floor H(p): {f['entropy_floor']:.4f})"
    )
    out.print(
        f"recalls added {report.recalls_added:,}, settled {report.recalls_settled:,}; "
        f"new cases: {', '.join(report.cases) or 'none'}"
    )


@app.command("coverage")
def coverage(
    round_code: str = typer.Argument(..., help="The round's code."),
    level: str = typer.Option("district", "--level", help="city, district, street, community."),
    parent: str = typer.Option(None, "--parent", help="Only the areas inside this one."),
) -> None:
    """Sampled / due / exempt / missing (应检尽检) per area, from the last apply."""
    if level not in outcome.LEVELS:
        raise typer.BadParameter(f"--level must be one of {', '.join(outcome.LEVELS)}")
    settings = get_settings()
    with cliutil.unit_of_work(settings) as session:
        round_ = service.get_round(session, code=round_code, scope=cliutil.city_scope())
        rows = lists.coverage(
            lake_root(settings.home),
            round_,
            level=level,
            parent=parent,
            scope=cliutil.city_scope(),
        )
    table = Table("area", "code", "due", "sampled", "exempt", "missing", "rate")
    for r in rows:
        rate = f"{r['rate']:.2%}" if r["rate"] is not None else "—"
        table.add_row(
            r["area_name"],
            str(r["area_code"]),
            f"{r['due']:,}",
            f"{r['sampled']:,}",
            f"{r['exempt']:,}",
            f"{r['missing']:,}",
            rate,
        )
    out.print(table)


@app.command("routine")
def routine_compliance(
    industry: str = typer.Option(None, "--industry", help="One industry code only."),
) -> None:
    """Routine testing of key populations: compliance per group and enterprise now."""
    settings = get_settings()
    with cliutil.unit_of_work(settings) as session:
        report = routine.compliance(
            session,
            lake=lake_root(settings.home),
            policy=cliutil.policy(),
            at=cliutil.clock().now(),
            scope=cliutil.city_scope(),
            industry=industry,
        )
    for title, tallies in (("groups", report.groups), ("enterprises", report.enterprises)):
        table = Table(title, "frequency", "workers", "compliant", "overdue", "never", "rate")
        for t in tallies:
            table.add_row(
                t.label,
                t.frequency,
                str(t.workers),
                str(t.compliant),
                str(t.overdue),
                str(t.never),
                f"{t.rate:.1%}",
            )
        out.print(table)
    out.print(f"rule {report.rule}")
