"""Upload and body size limits, zip bombs, the row cap and the capped error list: in the API
(413 ``too_large`` or 422 with the first errors and the count of the rest) and the CLI."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from fangkong.cli import app as cli_app
from fangkong.config import Settings, get_settings
from fangkong.main import create_app
from tests.conftest import NOW

Clients = Callable[[str], TestClient]
HEADER = "case_no,district,classification,reported_on\n"


def _cases(n: int, *, bad: bool = False) -> bytes:
    day = "not-a-day" if bad else "2022-03-21"
    return (HEADER + "".join(f"C-{i},周村区,无症状,{day}\n" for i in range(n))).encode()


@pytest.fixture
def tight(settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    """An app taking bodies of at most 0.05 MB, files of at most 3 rows, listing 2 errors."""
    from fangkong.clock import FixedClock

    monkeypatch.setenv("FANGKONG_IMPORT_MAX_ROWS", "3")
    monkeypatch.setenv("FANGKONG_IMPORT_MAX_ERRORS", "2")
    monkeypatch.setenv("FANGKONG_XLSX_MAX_UNPACKED_MB", "1")
    get_settings.cache_clear()
    application = create_app(settings.model_copy(update={"upload_max_mb": 0.05}))
    application.state.clock = FixedClock(NOW)
    yield application
    application.state.store.engine.dispose()
    get_settings.cache_clear()


@pytest.fixture
def cdc(tight: FastAPI, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(tight, headers={"Authorization": f"Bearer {tokens['cdc']}"}) as c:
        yield c


def _post(client: TestClient, data: bytes, name: str = "cases.csv") -> object:
    return client.post("/api/v1/cases/import", files={"file": (name, data, "text/csv")})


def _too_large(response: object) -> None:
    assert response.status_code == 413, response.text  # type: ignore[attr-defined]
    assert response.json()["code"] == "too_large"  # type: ignore[attr-defined]


def test_a_body_over_the_limit_is_refused_by_its_length(cdc: TestClient) -> None:
    _too_large(_post(cdc, b"x" * 60_000))


def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives(cdc: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n\r\n'
        for _ in range(100):
            yield b"x" * 1000
        yield b"\r\n--B--\r\n"

    response = cdc.post(
        "/api/v1/cases/import",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=B"},
    )
    _too_large(response)


def test_more_rows_than_the_cap(cdc: TestClient) -> None:
    _too_large(_post(cdc, _cases(4)))
    assert _post(cdc, _cases(3)).status_code == 200


def _bomb(size: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * size)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_opened(cdc: TestClient) -> None:
    # 2 MB of one byte compresses about 1000 to 1; the declared size alone passes 1 MB too
    bomb = _bomb(2 << 20)
    assert len(bomb) < 50_000
    response = _post(cdc, bomb, "cases.xlsx")
    _too_large(response)
    assert "unpacks to" in response.json()["message"]  # type: ignore[attr-defined]


def test_a_compression_ratio_beyond_the_limit(
    cdc: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANGKONG_XLSX_MAX_UNPACKED_MB", "100")
    get_settings.cache_clear()
    response = _post(cdc, _bomb(2 << 20), "cases.xlsx")
    _too_large(response)
    assert "compressed" in response.json()["message"]  # type: ignore[attr-defined]


def test_the_error_list_is_capped_with_the_count_of_the_rest(cdc: TestClient) -> None:
    response = _post(cdc, _cases(3, bad=True))
    assert response.status_code == 422, response.text
    details = response.json()["details"]
    assert len(details["errors"]) == 2
    assert details["report"]["unlisted"] == 1
    assert details["report"]["rejected"] == 3


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FANGKONG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FANGKONG_NOW", "2022-03-23T20:00+08:00")
    monkeypatch.delenv("FANGKONG_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_the_cli_refuses_a_file_over_the_limit(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANGKONG_UPLOAD_MAX_MB", "0.001")
    get_settings.cache_clear()
    path = home / "cases.csv"
    path.write_bytes(_cases(100))
    result = CliRunner().invoke(cli_app, ["cases", "import", str(path)])
    assert result.exit_code == 1
    assert "too_large" in result.output


def test_the_cli_lists_the_first_errors_and_counts_the_rest(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANGKONG_IMPORT_MAX_ERRORS", "2")
    get_settings.cache_clear()
    path = home / "cases.csv"
    path.write_bytes(_cases(5, bad=True))
    result = CliRunner().invoke(cli_app, ["cases", "import", str(path)])
    assert result.exit_code == 1
    assert result.output.count("row ") == 2
    assert "… and 3 more error(s)" in result.output
