"""The per-region reference pages in docs/regions are generated, and match the rulesets."""

from __future__ import annotations

from pathlib import Path

import pytest

from creditrules import Engine
from creditrules.refdoc import region_page, write_pages

DOCS = Path(__file__).resolve().parents[1] / "docs" / "regions"
REGIONS = sorted(p.stem for p in DOCS.glob("*.md") if p.stem != "index")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def test_every_installed_region_has_a_page(engine: Engine) -> None:
    assert [r.id for r in engine.regions()] == REGIONS


@pytest.mark.parametrize("region", REGIONS)
def test_committed_page_matches_the_rulesets(engine: Engine, region: str) -> None:
    if region not in engine.chains:
        pytest.skip(f"{region} is not installed")
    committed = (DOCS / f"{region}.md").read_text(encoding="utf-8")
    assert committed == region_page(engine, region), (
        f"docs/regions/{region}.md is out of date: run `creditrules docs --out docs/regions`"
    )


@pytest.mark.parametrize("region", REGIONS)
def test_page_cites_every_rule_and_its_clause(engine: Engine, region: str) -> None:
    if region not in engine.chains:
        pytest.skip(f"{region} is not installed")
    page = region_page(engine, region)
    for active in engine.chain(region).rules:
        assert f"`{active.rule.id}`" in page
        assert active.rule.citation.text.split()[0] in page


def test_pages_are_written_with_an_index(engine: Engine, tmp_path: Path) -> None:
    written = write_pages(engine, tmp_path, ["beihai"])
    assert [p.name for p in written] == ["beihai.md", "index.md"]
    assert "[beihai](beihai.md)" in (tmp_path / "index.md").read_text(encoding="utf-8")
