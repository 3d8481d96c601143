"""A round's outcome: every person's state, the recall list, coverage (应检尽检), progress and
the labs' turnaround, computed from the lake in DuckDB and written as one set of files.

Inputs: the round's samples, tube results and closures (``testing/lake.py``); ``due``, a
Parquet snapshot of the round's population taken from the registry when the round opened
(``person_id, community_id, community_name, street_code, district_code``; one row a
person; a person the registry has not placed in a community, or street, has those empty
and counts in the levels above only); ``exemptions`` (``person_id, reason``: quarantine,
hospital, travelling, other); optionally ``points`` (``point_code, community_id`` and, if
known, ``street_code, district_code``) to place the persons sampled who were not due.

A person's state combines all their tubes of the round exactly as ``pooling.person_state``
does (a property test runs both on random rounds):

- ``positive``: a single tube of theirs is positive;
- ``pool_positive`` (混阳): a pool of theirs is positive and no smaller tube sampled after the
  latest positive pool is negative. A pool mixes the swabs at sampling, so nothing in the
  lab can say which member is infected: every member is controlled until a re-sample of
  their own, swabbed after the pool, comes back negative — a single tube (单采复核), or in
  three stages a smaller pool. A tube sampled before the pool, or a pool as large, says
  nothing about the pool's infection;
- ``retest``: their latest tube could not be read (invalid) and nothing was sampled after;
- ``cleared``: a negative tube, none of the above;
- ``pending``: sampled, no result yet;
- ``exempt`` (免检): due, not sampled, exempted; ``missing`` (未检): due, not sampled, not
  exempted. A due person sampled anyway counts as sampled, exempted or not.

Files written under ``outcome/round=<code>/`` (replaced as a whole, ``lake.publish_outcome``):

- ``status.parquet``: one row per due person and per sampled person not due (``due``
  false), sorted by community so that one community's list reads little of the file;
- ``recall.parquet``: the pool-positive persons and their latest positive pool: who must be
  re-sampled by single tube; ``positives.parquet``: persons with a positive single tube;
- ``coverage.parquet``: per level (community, street, district, city) and area: due,
  sampled, exempt, missing (sampled + exempt + missing = due), sampled_not_due, the count of
  each state, and the rate sampled / (due - exempt);
- ``progress.parquet``: per local hour (its start stored in UTC): samples that hour, persons
  sampled for the first time, and the cumulative distinct persons sampled;
- ``turnaround.parquet``: per lab, the hours from a tube's closing (its closure, or its last
  sample when never closed) to its result: tubes, median, 90th percentile (linear
  interpolation), maximum.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from fangkong.errors import InvalidInput, NotFound
from fangkong.lake.layout import sql_path
from fangkong.lake.writer import LOCAL_TZ
from fangkong.testing import lake as tlake
from fangkong.testing.pooling import VALIDATED_SIZES, entropy_floor, expected_tests_per_person

Level = Literal["community", "street", "district", "city"]
LEVELS: tuple[Level, ...] = ("community", "street", "district", "city")
STATES = ("positive", "pool_positive", "retest", "cleared", "pending", "exempt", "missing")
EXEMPT_REASONS = ("quarantine", "hospital", "travelling", "other")
DUE_COLUMNS = ("person_id", "community_id", "community_name", "street_code", "district_code")
CITY = "city"  # the area code of the city-level row of coverage
FILES = ("status", "recall", "positives", "coverage", "progress", "turnaround")
STATUS_ROW_GROUP = 16_384  # ~ a few communities: one community's list reads a group or two
# More than an import's: a city's status (25.7 M persons) is joined and sorted at once, and
# spilling it to disk costs more than the memory (within 16 GiB with Python's own).
MEMORY_LIMIT = "10GB"


@dataclass(frozen=True)
class RoundCounts:
    """Persons of the round. ``sampled`` counts due persons; the states count every person
    of ``status`` (due or not), so pending + cleared + pool_positive + positive + retest =
    sampled + sampled_not_due."""

    due: int = 0
    sampled: int = 0
    sampled_not_due: int = 0
    exempt: int = 0
    missing: int = 0
    pending: int = 0
    cleared: int = 0
    pool_positive: int = 0
    positive: int = 0
    retest: int = 0


@dataclass(frozen=True)
class RoundOutcome:
    """What ``apply_round`` found and wrote."""

    round_code: str
    counts: RoundCounts
    persons_sampled: int  # distinct, due or not
    tubes_first_stage: int  # pools, and single tubes not following a positive pool
    tubes_retest: int  # re-samples: smaller tubes swabbed after a positive pool of theirs
    tubes_resulted: int
    tests_per_person: float  # (first stage + retest tubes) / persons sampled
    positivity: float  # p̂ = positive persons / persons sampled
    fixed_size: int
    fixed_tests_per_person: float  # a fixed n-in-1 scheme at p̂, two stages
    entropy_floor: float  # H(p̂): no scheme averages fewer tests per person
    folder: Path  # outcome/round=<code>, the link to this run's files
    files: dict[str, Path] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def tubes(self) -> int:
        return self.tubes_first_stage + self.tubes_retest


# The person's state from all their tubes: pooling.person_state in SQL.
_STATE = """
    CASE
        WHEN positive_single THEN 'positive'
        WHEN last_positive IS NOT NULL AND cleared_after IS NULL THEN 'pool_positive'
        WHEN last_invalid = latest THEN 'retest'
        WHEN any_negative THEN 'cleared'
        ELSE 'pending'
    END
"""


class _Stages:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._at = time.perf_counter()

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._at, 3)
        self._at = now


def apply_round(
    lake: Path,
    round_code: str,
    due: Path,
    exemptions: pa.Table,
    *,
    fixed_size: int = 10,
    points: pa.Table | None = None,
) -> RoundOutcome:
    """Compute the round's outcome from what the lake holds now and publish its files
    (atomically, replacing the previous run's). See the module's docstring."""
    tlake.check_round_code(round_code)
    if fixed_size not in VALIDATED_SIZES:
        raise InvalidInput(f"fixed_size must be one of {VALIDATED_SIZES}, got {fixed_size}")
    stages = _Stages()
    folder = tlake.new_outcome_dir(lake, round_code)
    published = False
    try:
        files = {name: folder / f"{name}.parquet" for name in FILES}
        with tlake.workspace(lake, memory_limit=MEMORY_LIMIT) as con:
            _load(con, lake, round_code, due, exemptions, points)
            stages.done("load")
            _persons(con)
            stages.done("persons")
            # Everything that needs the samples first, so that their memory is free for
            # the largest step, the status of every person sorted by community.
            tlake.copy(con, _PROGRESS, files["progress"])
            stages.done("progress")
            tlake.copy(con, _TURNAROUND, files["turnaround"])
            stages.done("turnaround")
            tubes = _tubes(con)
            con.execute(_POSITIVE_TUBES)
            con.execute("DROP TABLE samples")
            stages.done("tubes")
            tlake.copy(con, _STATUS, files["status"], STATUS_ROW_GROUP)
            con.execute("DROP TABLE persons")
            con.execute(
                f"CREATE TEMP VIEW status AS "
                f"SELECT * FROM read_parquet('{sql_path(files['status'])}')"
            )
            stages.done("status")
            tlake.copy(con, _RECALL, files["recall"])
            tlake.copy(con, _POSITIVES, files["positives"])
            stages.done("recall")
            tlake.copy(con, _COVERAGE, files["coverage"])
            stages.done("coverage")
        counts = _counts(files["coverage"])
        with tlake.testing_lock(lake):  # two runs at once: the later one's files stay
            tlake.remove_stale(lake)
            link = tlake.publish_outcome(lake, round_code, folder)
        published = True
        stages.done("publish")
    finally:
        if not published:
            shutil.rmtree(folder, ignore_errors=True)
    persons = counts.sampled + counts.sampled_not_due
    p_hat = counts.positive / persons if persons else 0.0
    first, retest, resulted = tubes
    return RoundOutcome(
        round_code=round_code,
        counts=counts,
        persons_sampled=persons,
        tubes_first_stage=first,
        tubes_retest=retest,
        tubes_resulted=resulted,
        tests_per_person=(first + retest) / persons if persons else 0.0,
        positivity=p_hat,
        fixed_size=fixed_size,
        fixed_tests_per_person=expected_tests_per_person(fixed_size, p_hat),
        entropy_floor=entropy_floor(p_hat),
        folder=link,
        files={name: link / path.name for name, path in files.items()},
        seconds=stages.seconds,
    )


# ---------------------------------------------------------------------------- inputs


def _load(
    con: duckdb.DuckDBPyConnection,
    lake: Path,
    round_code: str,
    due: Path,
    exemptions: pa.Table,
    points: pa.Table | None,
) -> None:
    # The files are listed under the lock, so that every result seen has its samples.
    with tlake.testing_lock(lake):
        tlake.view(con, "sample_files", tlake.SAMPLE_STREAM, lake, round_code)
        tlake.view(con, "result_files", tlake.RESULT_STREAM, lake, round_code)
        tlake.view(con, "closure_files", tlake.CLOSURE_STREAM, lake, round_code)
    # Read once: every stage below scans the samples and the results again.
    con.execute(
        "CREATE TEMP TABLE samples AS "
        "SELECT person_id, tube_barcode, tube_size, point_code, sampled_at FROM sample_files"
    )
    con.execute("CREATE TEMP TABLE results AS SELECT * FROM result_files")
    con.execute(
        "CREATE TEMP TABLE closures AS SELECT tube_barcode, min(closed_at) AS closed_at "
        "FROM closure_files GROUP BY tube_barcode"
    )
    _load_due(con, due)
    _load_exemptions(con, exemptions)
    _load_points(con, points)


def _load_due(con: duckdb.DuckDBPyConnection, due: Path) -> None:
    if not due.is_file():
        raise NotFound(f"no due snapshot at {due}")
    try:
        names = pq.ParquetFile(due).schema_arrow.names
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"the due snapshot is not a readable Parquet file: {exc}") from exc
    missing = [c for c in DUE_COLUMNS if c not in names]
    if missing:
        raise InvalidInput(f"the due snapshot lacks the columns {', '.join(missing)}")
    # A view, not a table: it is read twice (the checks, the status), and its memory is
    # better spent on the join.
    con.execute(
        f"""
        CREATE TEMP VIEW due AS
        SELECT person_id::VARCHAR AS person_id, community_id::BIGINT AS community_id,
            community_name::VARCHAR AS community_name, street_code::VARCHAR AS street_code,
            district_code::VARCHAR AS district_code
        FROM read_parquet('{sql_path(due)}')
        """
    )
    nulls = tlake.count(con, "SELECT count(*) FROM due WHERE person_id IS NULL")
    if nulls:
        raise InvalidInput(f"the due snapshot has {nulls} row(s) without a person_id")
    # Persons grouped by a 64-bit hash first (an integer key groups several times faster
    # than a string), then the few candidates exactly.
    twice = con.execute(
        """
        WITH candidates AS (
            SELECT hash(person_id) AS h FROM due GROUP BY h HAVING count(*) > 1
        )
        SELECT person_id FROM due SEMI JOIN candidates c ON hash(person_id) = c.h
        GROUP BY person_id HAVING count(*) > 1 ORDER BY person_id LIMIT 5
        """
    ).fetchall()
    if twice:
        listed = ", ".join(str(p) for (p,) in twice)
        raise InvalidInput(f"the due snapshot lists a person more than once: {listed}")


def _load_exemptions(con: duckdb.DuckDBPyConnection, exemptions: pa.Table) -> None:
    for column in ("person_id", "reason"):
        if column not in exemptions.column_names:
            raise InvalidInput(f"exemptions need a {column} column")
    con.register("exemption_rows", exemptions.select(["person_id", "reason"]))
    bad = con.execute(
        "SELECT DISTINCT coalesce(reason::VARCHAR, '(empty)') FROM exemption_rows "
        f"WHERE reason IS NULL OR reason::VARCHAR NOT IN {EXEMPT_REASONS} LIMIT 5"
    ).fetchall()
    if bad:
        listed = ", ".join(str(r) for (r,) in bad)
        raise InvalidInput(
            f"unknown exemption reason(s) {listed}; use one of {', '.join(EXEMPT_REASONS)}"
        )
    # One reason a person; the first in the order of EXEMPT_REASONS when several.
    con.execute(
        f"""
        CREATE TEMP TABLE exempt AS
        SELECT person_id::VARCHAR AS person_id,
            arg_min(reason::VARCHAR, list_position({list(EXEMPT_REASONS)}, reason::VARCHAR))
                AS reason
        FROM exemption_rows WHERE person_id IS NOT NULL GROUP BY ALL
        """
    )


def _load_points(con: duckdb.DuckDBPyConnection, points: pa.Table | None) -> None:
    if points is None:
        con.execute(
            "CREATE TEMP TABLE points (point_code VARCHAR, community_id BIGINT, "
            "community_name VARCHAR, street_code VARCHAR, district_code VARCHAR)"
        )
        return
    for column in ("point_code", "community_id"):
        if column not in points.column_names:
            raise InvalidInput(f"points need a {column} column")
    con.register("point_rows", points)

    def given(column: str) -> str:
        return f"p.{column}::VARCHAR" if column in points.column_names else "NULL::VARCHAR"

    # Areas the points table leaves out come from the due persons of the same community.
    con.execute(
        f"""
        CREATE TEMP TABLE points AS
        WITH areas AS (
            SELECT community_id, any_value(community_name) AS community_name,
                any_value(street_code) AS street_code, any_value(district_code) AS district_code
            FROM due GROUP BY community_id
        )
        SELECT p.point_code::VARCHAR AS point_code, p.community_id::BIGINT AS community_id,
            coalesce({given("community_name")}, a.community_name) AS community_name,
            coalesce({given("street_code")}, a.street_code) AS street_code,
            coalesce({given("district_code")}, a.district_code) AS district_code
        FROM point_rows p LEFT JOIN areas a ON a.community_id = p.community_id::BIGINT
        QUALIFY row_number() OVER (PARTITION BY p.point_code ORDER BY p.community_id) = 1
        """
    )


# ---------------------------------------------------------------------------- stages


def _persons(con: duckdb.DuckDBPyConnection) -> None:
    """One row per sampled person: their state (``_STATE`` of the aggregates of their
    tubes), their latest tube and when they were first sampled.

    Most persons of a round are swabbed once, and a person's aggregates over one tube are
    that tube's own values: those rows need no grouping by person (25 M string keys, the
    most expensive step of a city's round). Only the persons with several swabs, found by
    grouping a 64-bit hash of their id, are grouped; a hash two persons share sends both
    down that exact path, never a wrong state."""
    con.execute(
        "CREATE TEMP TABLE several AS "
        "SELECT hash(person_id) AS h FROM samples GROUP BY h HAVING count(*) > 1"
    )
    # The latest positive pool of each person swabbed several times, and its size (the
    # smallest, when two positive pools share that instant): what a re-sample must beat.
    con.execute(
        """
        CREATE TEMP TABLE last_positive AS
        WITH p AS (
            SELECT s.person_id, s.sampled_at, s.tube_size
            FROM samples s JOIN results r USING (tube_barcode)
            SEMI JOIN several m ON hash(s.person_id) = m.h
            WHERE r.result = 'positive'
        )
        SELECT p.person_id, p.sampled_at AS last_positive, min(p.tube_size) AS pool_size
        FROM p JOIN (SELECT person_id, max(sampled_at) AS t FROM p GROUP BY person_id) l
            ON l.person_id = p.person_id AND l.t = p.sampled_at
        GROUP BY p.person_id, p.sampled_at
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE persons AS
        SELECT person_id, {_STATE} AS state,
            last_tube, latest AS last_sampled_at, last_point, first_sampled
        FROM (
            SELECT s.person_id,
                s.tube_size = 1 AND r.result = 'positive' AS positive_single,
                CASE WHEN r.result = 'positive' THEN s.sampled_at END AS last_positive,
                -- one swab cannot re-sample itself
                NULL::TIMESTAMPTZ AS cleared_after,
                CASE WHEN r.result = 'invalid' THEN s.sampled_at END AS last_invalid,
                s.sampled_at AS latest,
                coalesce(r.result = 'negative', false) AS any_negative,
                s.tube_barcode AS last_tube, s.point_code AS last_point,
                s.sampled_at AS first_sampled
            FROM samples s
            LEFT JOIN results r USING (tube_barcode)
            ANTI JOIN several m ON hash(s.person_id) = m.h
            UNION ALL
            SELECT s.person_id,
                bool_or(s.tube_size = 1 AND r.result = 'positive'),
                max(s.sampled_at) FILTER (WHERE r.result = 'positive'),
                -- a negative re-sample: after the latest positive pool, smaller than it
                max(s.sampled_at) FILTER (
                    WHERE r.result = 'negative'
                    AND s.sampled_at > lp.last_positive AND s.tube_size < lp.pool_size
                ),
                max(s.sampled_at) FILTER (WHERE r.result = 'invalid'),
                max(s.sampled_at),
                coalesce(bool_or(r.result = 'negative'), false),
                -- the tube of the latest swab (of two at the same instant, either)
                arg_max(s.tube_barcode, s.sampled_at),
                arg_max(s.point_code, s.sampled_at),
                min(s.sampled_at)
            FROM samples s
            LEFT JOIN results r USING (tube_barcode)
            LEFT JOIN last_positive lp ON lp.person_id = s.person_id
            SEMI JOIN several m ON hash(s.person_id) = m.h
            GROUP BY s.person_id
        )
        """
    )


# One row per due person and per sampled person not due, by community. A due person keeps
# the registry's area; one not due gets the area of the point of their latest swab.
_STATUS = """
    SELECT coalesce(d.person_id, p.person_id) AS person_id,
        d.person_id IS NOT NULL AS due,
        coalesce(d.community_id, pt.community_id) AS community_id,
        coalesce(d.community_name, pt.community_name) AS community_name,
        coalesce(d.street_code, pt.street_code) AS street_code,
        coalesce(d.district_code, pt.district_code) AS district_code,
        CASE WHEN p.person_id IS NOT NULL THEN p.state
            WHEN e.person_id IS NOT NULL THEN 'exempt'
            ELSE 'missing' END AS state,
        e.reason AS exempt_reason,
        p.last_tube, p.last_sampled_at, p.last_point AS last_point_code
    FROM due d
    FULL JOIN persons p ON p.person_id = d.person_id
    LEFT JOIN exempt e ON e.person_id = coalesce(d.person_id, p.person_id)
    LEFT JOIN points pt ON d.person_id IS NULL AND pt.point_code = p.last_point
    ORDER BY community_id, person_id
"""

# The swabs in positive tubes, kept when the samples are dropped: the latest positive pool
# of a pool-positive person and the first positive single tube of a positive one.
_POSITIVE_TUBES = """
    CREATE TEMP TABLE positive_tubes AS
    SELECT s.person_id, s.tube_barcode, s.tube_size, s.sampled_at, s.point_code,
        r.resulted_at, r.lab, r.ct_orf1ab, r.ct_n
    FROM samples s JOIN results r USING (tube_barcode)
    WHERE r.result = 'positive'
"""


# The latest positive pool of each pool-positive person: where to find them again.
_RECALL = """
    WITH pools AS (
        SELECT * FROM positive_tubes WHERE tube_size > 1
        QUALIFY row_number() OVER (
            PARTITION BY person_id ORDER BY sampled_at DESC, tube_barcode DESC) = 1
    )
    SELECT st.person_id, p.tube_barcode, p.tube_size, p.sampled_at, p.point_code,
        p.resulted_at, st.due, st.community_id, st.community_name, st.street_code,
        st.district_code
    FROM status st JOIN pools p USING (person_id)
    WHERE st.state = 'pool_positive'
    ORDER BY st.district_code, st.street_code, st.community_id, st.person_id
"""

# The first positive single tube of each positive person.
_POSITIVES = """
    WITH singles AS (
        SELECT * FROM positive_tubes WHERE tube_size = 1
        QUALIFY row_number() OVER (
            PARTITION BY person_id ORDER BY sampled_at, tube_barcode) = 1
    )
    SELECT st.person_id, p.tube_barcode, p.sampled_at, p.point_code, p.resulted_at, p.lab,
        p.ct_orf1ab, p.ct_n, st.due, st.community_id, st.community_name, st.street_code,
        st.district_code
    FROM status st JOIN singles p USING (person_id)
    WHERE st.state = 'positive'
    ORDER BY p.resulted_at, st.person_id
"""

_STATE_COUNTS = ", ".join(
    f"count(*) FILTER (WHERE state = '{s}') AS {s}" for s in STATES if s not in ("exempt",)
)
_COVERAGE = f"""
    WITH grouped AS (
        SELECT
            CASE
                WHEN grouping(community_id) = 0 THEN 'community'
                WHEN grouping(street_code) = 0 THEN 'street'
                WHEN grouping(district_code) = 0 THEN 'district'
                ELSE 'city' END AS level,
            district_code, street_code, community_id, any_value(community_name) AS name,
            count(*) FILTER (WHERE due) AS due,
            count(*) FILTER (WHERE due AND state NOT IN ('exempt', 'missing')) AS sampled,
            count(*) FILTER (WHERE state = 'exempt') AS exempt,
            count(*) FILTER (WHERE NOT due) AS sampled_not_due,
            {_STATE_COUNTS}
        FROM status
        GROUP BY GROUPING SETS (
            (district_code, street_code, community_id), (district_code, street_code),
            (district_code), ())
    )
    SELECT level,
        CASE level WHEN 'community' THEN community_id::VARCHAR WHEN 'street' THEN street_code
            WHEN 'district' THEN district_code ELSE '{CITY}' END AS area_code,
        CASE level WHEN 'community' THEN name END AS area_name,
        CASE level WHEN 'community' THEN street_code WHEN 'street' THEN district_code
            WHEN 'district' THEN '{CITY}' END AS parent_code,
        CASE level WHEN 'community' THEN community_id END AS community_id,
        street_code, district_code,
        due, sampled, exempt, missing, sampled_not_due,
        pending, cleared, pool_positive, positive, retest,
        CASE WHEN due - exempt > 0 THEN sampled / (due - exempt) END AS rate
    FROM grouped
    -- a person whose area of a level is unknown (not due and no points given, or due
    -- but not placed in a community by the registry) counts in the levels above only
    WHERE level = 'city' OR (CASE level WHEN 'community' THEN community_id IS NOT NULL
        WHEN 'street' THEN street_code IS NOT NULL ELSE district_code IS NOT NULL END)
    ORDER BY list_position(['city', 'district', 'street', 'community'], level), area_code
"""

# Hours are local (Asia/Shanghai) hours, stored as their start in UTC. Rows are grouped by
# their UTC hour as an integer (a time-zone conversion per row costs more than the rest of
# the query) and each hour is then truncated in local time: the same hours wherever the
# offset is a whole number of hours, as Asia/Shanghai's (+08:00) is. Empty hours between
# the first and the last are listed with zeros, so that a chart's axis is even.
_HOUR_US = 3_600_000_000
_LOCAL_HOUR = (
    f"timezone('{LOCAL_TZ}', date_trunc('hour', timezone('{LOCAL_TZ}', to_timestamp(h * 3600))))"
)
_PROGRESS = f"""
    WITH utc_hours AS (
        SELECT epoch_us(sampled_at) // {_HOUR_US} AS h, count(*) AS samples
        FROM samples GROUP BY ALL
    ), utc_firsts AS (
        SELECT epoch_us(first_sampled) // {_HOUR_US} AS h, count(*) AS persons_new
        FROM persons GROUP BY ALL
    ), hours AS (
        SELECT {_LOCAL_HOUR} AS hour_start, sum(samples) AS samples
        FROM utc_hours GROUP BY ALL
    ), firsts AS (
        SELECT {_LOCAL_HOUR} AS hour_start, sum(persons_new) AS persons_new
        FROM utc_firsts GROUP BY ALL
    ), axis AS (
        SELECT unnest(generate_series(min(hour_start), max(hour_start), INTERVAL 1 HOUR))
            AS hour_start
        FROM hours
    )
    SELECT a.hour_start, coalesce(h.samples, 0)::BIGINT AS samples,
        coalesce(f.persons_new, 0)::BIGINT AS persons_new,
        sum(coalesce(f.persons_new, 0)) OVER (ORDER BY a.hour_start)::BIGINT
            AS persons_cumulative
    FROM axis a LEFT JOIN hours h USING (hour_start) LEFT JOIN firsts f USING (hour_start)
    ORDER BY a.hour_start
"""

_TURNAROUND = """
    WITH tubes AS (
        SELECT tube_barcode, max(sampled_at) AS last_sampled FROM samples GROUP BY ALL
    ), hours AS (
        SELECT r.lab,
            epoch(r.resulted_at - coalesce(c.closed_at, t.last_sampled)) / 3600.0 AS hours
        FROM results r JOIN tubes t USING (tube_barcode) LEFT JOIN closures c USING (tube_barcode)
    )
    SELECT lab, count(*) AS tubes, quantile_cont(hours, 0.5) AS median_hours,
        quantile_cont(hours, 0.9) AS p90_hours, max(hours) AS max_hours
    FROM hours GROUP BY lab ORDER BY lab
"""


def _tubes(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    """(first-stage tubes, retest tubes, tubes with a result). A retest is a tube smaller
    than a positive pool of one of its persons and swabbed after it: a single tube, or in
    three stages a smaller pool."""
    found = con.execute(
        """
        WITH positive_pools AS (
            SELECT s.person_id, s.sampled_at AS positive_at, s.tube_size AS pool_size
            FROM samples s JOIN results r USING (tube_barcode)
            WHERE r.result = 'positive' AND s.tube_size > 1
        )
        SELECT
            (SELECT count(DISTINCT tube_barcode) FROM samples),
            (SELECT count(DISTINCT s.tube_barcode) FROM samples s
                JOIN positive_pools p USING (person_id)
                WHERE s.tube_size < p.pool_size AND s.sampled_at > p.positive_at),
            (SELECT count(*) FROM results)
        """
    ).fetchone()
    total, retest, resulted = (int(v) for v in found) if found else (0, 0, 0)
    return total - retest, retest, resulted


def _counts(coverage: Path) -> RoundCounts:
    city = pq.read_table(coverage, filters=[("level", "=", "city")]).to_pylist()
    if not city:
        return RoundCounts()
    row = city[0]
    return RoundCounts(**{name: int(row[name]) for name in RoundCounts.__dataclass_fields__})


# ---------------------------------------------------------------------------- readers


def _outcome_file(lake: Path, round_code: str, name: str) -> Path:
    path = tlake.outcome_dir(lake, round_code) / f"{name}.parquet"
    if not path.is_file():
        raise NotFound(f"round {round_code} has no outcome yet: apply the round first")
    return path


def _read(path: Path, filters: list[tuple[str, str, object]] | None = None) -> pa.Table:
    # The folder behind the link is resolved once, so the whole file is of one run.
    return pq.read_table(path.resolve(), filters=filters or None)


def read_coverage(lake: Path, round_code: str, level: Level, parent: str | None = None) -> pa.Table:
    """Coverage rows of one level, in area order; ``parent`` keeps the areas inside one
    area of the level above (a street's communities, a district's streets)."""
    if level not in LEVELS:
        raise InvalidInput(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    filters: list[tuple[str, str, object]] = [("level", "=", level)]
    if parent is not None:
        filters.append(("parent_code", "=", parent))
    return _read(_outcome_file(lake, round_code, "coverage"), filters)


def read_status(
    lake: Path,
    round_code: str,
    *,
    community_id: int | None = None,
    states: Iterable[str] | None = None,
    person_no: str | None = None,
) -> pa.Table:
    """Persons' states, of one community, of the given states or of one person when asked
    (e.g. the missing list of a community for its community worker), by community and
    person."""
    filters: list[tuple[str, str, object]] = []
    if person_no is not None:
        filters.append(("person_id", "=", person_no))
    if community_id is not None:
        filters.append(("community_id", "=", community_id))
    if states is not None:
        wanted = sorted(set(states))
        unknown = [s for s in wanted if s not in STATES]
        if unknown:
            raise InvalidInput(f"unknown state(s) {', '.join(unknown)}; use {', '.join(STATES)}")
        filters.append(("state", "in", wanted))
    return _read(_outcome_file(lake, round_code, "status"), filters)


def read_progress(lake: Path, round_code: str) -> pa.Table:
    """Samples and cumulative persons sampled, per local hour."""
    return _read(_outcome_file(lake, round_code, "progress"))


def read_recall(lake: Path, round_code: str, *, community_id: int | None = None) -> pa.Table:
    """The pool-positive persons to re-sample by single tube, of one community if asked."""
    filters: list[tuple[str, str, object]] = []
    if community_id is not None:
        filters.append(("community_id", "=", community_id))
    return _read(_outcome_file(lake, round_code, "recall"), filters)


def read_positives(lake: Path, round_code: str) -> pa.Table:
    """Persons with a positive single tube."""
    return _read(_outcome_file(lake, round_code, "positives"))


def read_turnaround(lake: Path, round_code: str) -> pa.Table:
    """Per lab: tubes and hours from closing to result."""
    return _read(_outcome_file(lake, round_code, "turnaround"))
