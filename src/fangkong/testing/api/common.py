"""What the testing API shares: who may call it, a round code's form, the lake."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Path

from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.deps import SettingsDep
from fangkong.lake.layout import lake_root

if TYPE_CHECKING:
    pass

Reader = Annotated[Principal, Depends(Require("testing.read"))]
Planner = Annotated[Principal, Depends(Require("testing.plan"))]
Exempter = Annotated[Principal, Depends(Require("testing.exempt"))]
Sampler = Annotated[Principal, Depends(Require("testing.sample"))]
Lab = Annotated[Principal, Depends(Require("testing.results"))]
ListExporter = Annotated[Principal, Depends(Require("testing.export"))]
CODE = Path(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def lake_dir(settings: SettingsDep) -> FilePath:
    return lake_root(settings.home)


LakeDep = Annotated[FilePath, Depends(lake_dir)]
