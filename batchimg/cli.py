"""The ``batchimg`` command: run, validate, preview and inspect workflows.

A thin click layer over :mod:`batchimg.workflow` (the only module importing click).
Exit codes: 0 success, 1 error (one line ``Error: ...`` on stderr; ``--debug``
shows the traceback), 2 usage error, 3 finished but some inputs failed (listed in
``DIR/errors.csv``; one summary line on stderr).
"""

from __future__ import annotations

import os
import sys

import click

from .errors import BatchimgError


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["batchimg.debug"] = True


_debug = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="Show the full traceback on errors.",
)


class _Group(click.Group):
    """A click group that turns batchimg's errors into one ``Error:`` line and exit 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (BatchimgError, OSError) as exc:
            if ctx.meta.get("batchimg.debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="batchimg")
@_debug
def main() -> None:
    """Run scipy.ndimage pipelines over image collections and volumes."""


def _source_options(f):
    f = click.option("--raw-offset", type=int, default=0, show_default=True,
                     help="Bytes to skip at the start of a raw file.")(f)  # fmt: skip
    f = click.option("--raw-dtype", default=None, help="dtype of a raw file (uint8, <u2, ...).")(f)
    f = click.option("--raw-shape", default=None, help="Shape of a raw file, Z,Y,X.")(f)
    f = click.option("--input", "-i", "source", required=True,
                     help="Image folder, glob, image file, raw file or Zarr array.")(f)  # fmt: skip
    return f


def _raw(raw_shape, raw_dtype, raw_offset) -> dict:
    return {"raw_shape": raw_shape, "raw_dtype": raw_dtype, "raw_offset": raw_offset}


@main.command()
@click.argument("workflow", type=click.Path(dir_okay=False))
@_source_options
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False),
              help="Output folder.")  # fmt: skip
@click.option("--chunks", default=None,
              help="Images per task (collections) or block shape Z,Y,X (volumes).")  # fmt: skip
@click.option("--save", default=None, help="More step outputs to save, comma-separated.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local threads or processes (default: all cores).")  # fmt: skip
@click.option("--scheduler", default=None,
              help="threads (default), processes, sync, or a dask scheduler address.")  # fmt: skip
@click.option("--table-format", type=click.Choice(["csv", "parquet"]), default=None,
              help="Format of the measurement table.")  # fmt: skip
@click.option("--table", default=None, help="Table file name (measurements.parquet, ...).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or messages.")
@click.option("--resume", is_flag=True,
              help="Continue the interrupted run in --output, skipping finished work.")  # fmt: skip
@click.option("--verify", is_flag=True,
              help="With --resume: also compare the content hash of processed files.")  # fmt: skip
@click.option("--max-failures", type=click.IntRange(min=0), default=None,
              help="Abort (exit 1) once more than N inputs failed (default: none).")  # fmt: skip
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Read attempts after a failed one before a file counts as failed.")  # fmt: skip
@click.option("--allow-remote", is_flag=True, help="Accept URL inputs (s3://, http://, ...).")
@_debug
@click.pass_context
def run(ctx, workflow, source, raw_shape, raw_dtype, raw_offset, output, chunks, save, workers,
        scheduler, table_format, table, quiet, resume, verify, max_failures, retries,
        allow_remote) -> None:  # fmt: skip
    """Run WORKFLOW on an input and write result.zarr, the table and summary.png.

    Exits 3 when the run finished but some inputs failed (see DIR/errors.csv).
    """
    from .workflow import load_workflow

    wf = load_workflow(workflow)
    say = None if quiet else (lambda msg: click.echo(msg, err=True))
    result = wf.run(
        source,
        output,
        chunks=chunks,
        save=[s for s in save.split(",") if s] if save else None,
        workers=workers,
        scheduler=scheduler,
        table=table,
        table_format=table_format,
        progress=not quiet and sys.stderr.isatty(),
        log=say,
        resume=resume,
        verify=verify,
        max_failures=max_failures,
        retries=retries,
        allow_remote=allow_remote,
        **_raw(raw_shape, raw_dtype, raw_offset),
    )
    if result.failed:
        first = result.failed[0]
        click.echo(
            f"batchimg: finished, but {len(result.failed)} of {result.n_inputs} inputs failed "
            f"(first: {first['path']!r}: {first['exception']}); see "
            f"{os.path.join(result.output, 'errors.csv')}",
            err=True,
        )
        ctx.exit(3)


@main.command()
@click.argument("workflow", type=click.Path(dir_okay=False))
@click.option("--input", "-i", "source", default=None,
              help="Also check the steps against this input (reads headers only).")  # fmt: skip
@click.option("--raw-shape", default=None, help="Shape of a raw file, Z,Y,X.")
@click.option("--raw-dtype", default=None, help="dtype of a raw file.")
@click.option("--raw-offset", type=int, default=0, help="Bytes to skip in a raw file.")
@_debug
def validate(workflow, source, raw_shape, raw_dtype, raw_offset) -> None:
    """Check WORKFLOW (and, with --input, that it fits the input) without running it."""
    from .workflow import load_workflow, open_source

    wf = load_workflow(workflow)
    where = ""
    if source is not None:
        src = open_source(source, **_raw(raw_shape, raw_dtype, raw_offset))
        wf.check_input(len(src.image_shape), src.data.dtype, src.image_shape)
        where = f" for {src.kind} {src.image_shape} {src.data.dtype}"
    click.echo(f"{workflow}: valid ({len(wf.steps)} steps){where}")


@main.command()
@_debug
def ops() -> None:
    """List every operation, its parameters and what it does."""
    from .workflow import operations

    for name, op in operations().items():
        params = ", ".join(p.describe() for p in op.params)
        click.echo(f"{name}({params})")
        click.echo(f"    {op.summary}")


@main.command()
@click.argument("directory", type=click.Path(file_okay=False))
@_debug
def info(directory) -> None:
    """Describe a run's output folder: arrays, table, workflow, versions, completeness."""
    from .workflow.outputs import info as _info

    d = _info(directory)
    if d["state"] == "complete":
        state = "complete"
        if d["failed_inputs"]:
            state += f" ({d['failed_inputs']} inputs failed, see errors.csv)"
    elif d["state"] == "failed":
        f = d["failure"]
        state = f"failed ({f.get('exception')}: {f.get('message')}); its files are INCOMPLETE"
    else:
        state = (
            "incomplete (no _COMPLETE marker: interrupted or still running; "
            "its files are INCOMPLETE)"
        )
    click.echo(f"{directory}: {state}")
    if d["partial"] and d["state"] != "complete":
        click.echo("resume with: batchimg run ... --resume")
    if d["lock"] and d["state"] != "complete":
        lk = d["lock"]
        click.echo(
            f"locked by process {lk.get('pid')} on {lk.get('host')} since {lk.get('started')}"
        )
    if d["workflow"]:
        click.echo(f"workflow: {d['workflow']}")
    for name, (shape, dtype) in d["arrays"].items():
        click.echo(f"array {name}: shape {shape} {dtype}")
    if d["table"]:
        click.echo(f"table {os.path.basename(d['table'])}: {d['rows']} rows")
    if d["versions"]:
        click.echo("versions: " + ", ".join(f"{k} {v}" for k, v in d["versions"].items()))
    if d["marker"]:
        click.echo(f"finished: {d['marker'].get('time')}")
    if d.get("error"):
        click.echo(d["error"])


@main.command()
@click.argument("workflow", type=click.Path(dir_okay=False))
@_source_options
@click.option("--image", type=int, default=0, show_default=True, help="Image of a collection.")
@click.option("--slice", "plane", type=int, default=None, help="Plane Z of a volume.")
@click.option("--output", "-o", default="preview.png", show_default=True, help="PNG to write.")
@_debug
def preview(workflow, source, raw_shape, raw_dtype, raw_offset, image, plane, output) -> None:
    """Draw the input and every step's output for one image or plane."""
    from .workflow import load_workflow
    from .workflow.preview import preview as _preview

    wf = load_workflow(workflow)
    path = _preview(wf, source, output, image=image, plane=plane,
                    **_raw(raw_shape, raw_dtype, raw_offset))  # fmt: skip
    click.echo(f"preview written to {path}")


@main.command()
@click.option("--output", "-o", default="batchimg-demo", show_default=True,
              type=click.Path(file_okay=False), help="Folder for data and results.")  # fmt: skip
@click.option("--quiet", "-q", is_flag=True, help="Only print where the results are.")
@_debug
def demo(output, quiet) -> None:
    """Make synthetic images and a volume, and run the bundled workflows on them."""
    from .workflow import load_workflow
    from .workflow.demo import DEMO_RUNS, make_demo_data, workflows_dir

    data = make_demo_data(os.path.join(output, "data"))
    say = None if quiet else (lambda msg: click.echo(msg, err=True))
    folder = workflows_dir()
    for file, kind in DEMO_RUNS.items():
        wf = load_workflow(folder / file)
        dest = os.path.join(output, wf.name)
        if kind == "images":
            wf.run(data["images"], dest, log=say)
        else:
            wf.run(data["volume"], dest, raw_shape=data["volume_shape"], raw_dtype="uint8",
                   log=say)  # fmt: skip
        click.echo(f"{wf.name}: {dest}")
    click.echo(f"demo data in {os.path.join(output, 'data')}")


if __name__ == "__main__":  # pragma: no cover
    main()
