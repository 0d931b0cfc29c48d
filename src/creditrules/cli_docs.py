"""``creditrules docs``: regenerate the per-region reference pages from the installed rulesets."""

from __future__ import annotations

import click

__all__ = ["docs"]


@click.command()
@click.option("--out", "out_dir", default="docs/regions", show_default=True, type=click.Path(file_okay=False),
              help="Directory to write <region>.md and index.md into.")
@click.option("--region", "regions", multiple=True, help="Only this region (repeatable; default: all installed).")
def docs(out_dir: str, regions: tuple[str, ...]) -> None:
    """Write one reference page per region: its rules, clauses, parameters over time, inputs."""
    from .cli import load_engine
    from .refdoc import write_pages

    written = write_pages(load_engine(), out_dir, regions or None)
    click.echo(f"{out_dir}: {len(written)} pages written", err=True)
