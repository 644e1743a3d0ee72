"""The ``batchimg`` command: run, validate, preview, report and inspect workflows.

A thin click layer over :mod:`batchimg.workflow` (the only module importing click).
Exit codes: 0 success, 1 error (one line ``Error: ...`` on stderr; ``--debug``
shows the traceback), 2 usage error, 3 finished but some inputs failed (listed in
``DIR/errors.csv``; one summary line on stderr). Messages and progress go to
stderr through the ``batchimg`` logger: ``-v`` shows more, ``-q`` only errors.
"""

from __future__ import annotations

import gc
import json
import logging
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

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        try:
            return super().main(*args, standalone_mode=standalone_mode, **kwargs)
        finally:
            if standalone_mode:
                # The process ends here. Its teardown would run the cycle collector
                # over the ~1,400 modules a run imports (0.25 s of a command's time);
                # objects frozen now are still freed, atexit handlers still run.
                gc.freeze()

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (BatchimgError, OSError) as exc:
            if ctx.meta.get("batchimg.debug"):
                raise
            message = " ".join(str(exc).split())
            click.echo(f"Error: {message}", err=True)
            ctx.exit(1)
        finally:
            _unlog(ctx)


_HANDLER = "batchimg.log-handler"


def _logging(verbose: int, quiet: bool) -> None:
    """Send the ``batchimg`` logger's messages to stderr for this command."""
    ctx = click.get_current_context()
    log = logging.getLogger("batchimg")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    previous = log.level
    log.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    ctx.find_root().meta[_HANDLER] = (handler, previous)


def _unlog(ctx: click.Context) -> None:
    entry = ctx.meta.pop(_HANDLER, None)
    if entry is not None:
        handler, previous = entry
        log = logging.getLogger("batchimg")
        log.removeHandler(handler)
        log.setLevel(previous)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="batchimg")
@_debug
def main() -> None:
    """Run scipy.ndimage pipelines over image collections and volumes."""


def _input_options(f):
    options = [
        click.option(
            "--input",
            "-i",
            "source",
            required=True,
            help="Image folder, glob or file; raw, TIFF, Zarr/OME-Zarr or HDF5 "
            "(file.h5:/dataset) file.",
        ),
        click.option(
            "--axes",
            default=None,
            help="The input's axes, letters of tczyx in the file's order (e.g. yxc).",
        ),
        click.option(
            "--scale", default=None, help="Physical pixel size per spatial axis, e.g. 2.0,0.5,0.5."
        ),
        click.option("--unit", default=None, help="Unit of --scale, e.g. micrometer."),
        click.option("--channel-names", default=None, help="Channel names, comma-separated."),
        click.option("--level", default=None, help="OME-Zarr level (index or path)."),
        click.option(
            "--dataset",
            default=None,
            help="Array inside a Zarr group or HDF5 file, or a TIFF series.",
        ),
        click.option("--gray", is_flag=True, help="Convert RGB(A) images to grey levels."),
        click.option("--raw-shape", default=None, help="Shape of a raw file, Z,Y,X."),
        click.option("--raw-dtype", default=None, help="dtype of a raw file (uint8, <u2, ...)."),
        click.option(
            "--raw-offset",
            default="0",
            show_default=True,
            help="Bytes to skip at the start of a raw file.",
        ),
        click.option("--allow-remote", is_flag=True, help="Accept URL inputs (s3://, ...)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _ints(text: str | None, name: str):
    from .errors import InvalidParameterError

    if text is None:
        return None
    try:
        values = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise InvalidParameterError(
            f"{name} must be comma-separated integers like 64,128,128; got {text!r}."
        ) from None
    if "x" in text:
        raise InvalidParameterError(
            f"{name} must be comma-separated integers like 64,128,128; got {text!r}. Hint: "
            f"--{name.replace('_', '-')} {text.replace('x', ',')}."
        )
    return values


def _numbers(text: str | None, name: str):
    from .errors import InvalidParameterError

    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InvalidParameterError(
            f"{name} must be comma-separated numbers like 2.0,0.5,0.5; got {text!r}."
        ) from None


def _input_kwargs(kw: dict) -> dict:
    from .errors import InvalidParameterError

    try:
        offset = int(kw["raw_offset"])
    except ValueError:
        raise InvalidParameterError(
            f"raw_offset must be an integer number of bytes; got {kw['raw_offset']!r}."
        ) from None
    level = kw["level"]
    if level is not None and level.isdigit():
        level = int(level)
    names = kw["channel_names"]
    return {
        "axes": kw["axes"],
        "scale": _numbers(kw["scale"], "scale"),
        "unit": kw["unit"],
        "channel_names": tuple(names.split(",")) if names else None,
        "level": level,
        "dataset": kw["dataset"],
        "gray": kw["gray"],
        "raw_shape": _ints(kw["raw_shape"], "raw_shape"),
        "raw_dtype": kw["raw_dtype"],
        "raw_offset": offset,
        "allow_remote": kw["allow_remote"],
    }


_INPUT_KEYS = (
    "source",
    "axes",
    "scale",
    "unit",
    "channel_names",
    "level",
    "dataset",
    "gray",
    "raw_shape",
    "raw_dtype",
    "raw_offset",
    "allow_remote",
)


def _verbosity(f):
    f = click.option("--quiet", "-q", is_flag=True, help="Only errors: no progress, no messages.")(
        f
    )
    f = click.option("--verbose", "-v", count=True, help="More messages (the plan, the stages).")(f)
    return f


@main.command()
@click.argument("workflow", type=click.Path(dir_okay=False))
@_input_options
@click.option(
    "--output", "-o", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@click.option(
    "--chunks", default=None, help="Images per task (collections) or block shape Z,Y,X (volumes)."
)
@click.option("--save", default=None, help="More step outputs to save, comma-separated.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Local threads or processes (default: every core dask sees).",
)
@click.option(
    "--scheduler",
    default=None,
    help="threads, processes, sync, or a dask scheduler address (default: processes for "
    "a collection, threads for a volume, unless dask's config names a scheduler).",
)
@click.option(
    "--scheduler-file",
    default=None,
    type=click.Path(dir_okay=False),
    help="A dask scheduler file (dask scheduler --scheduler-file, dask-mpi).",
)
@click.option(
    "--table-format",
    type=click.Choice(["csv", "parquet"]),
    default=None,
    help="Format of the measurement table.",
)
@click.option("--table", default=None, help="Table file name (measurements.parquet, ...).")
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the interrupted run in --output, skipping finished work.",
)
@click.option(
    "--verify",
    is_flag=True,
    help="With --resume: also compare the content hash of processed files.",
)
@click.option(
    "--overwrite", is_flag=True, help="Replace entries of --output that batchimg did not write."
)
@click.option(
    "--max-failures",
    type=click.IntRange(min=0),
    default=None,
    help="Abort (exit 1) once more than N inputs failed (default: none).",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Read attempts after a failed one before a file counts as failed.",
)
@click.option(
    "--report/--no-report",
    "report",
    default=True,
    show_default=True,
    help="Write DIR/report.html (rebuild it later with batchimg report DIR).",
)
@_verbosity
@_debug
@click.pass_context
def run(
    ctx,
    workflow,
    output,
    chunks,
    save,
    workers,
    scheduler,
    scheduler_file,
    table_format,
    table,
    resume,
    verify,
    overwrite,
    max_failures,
    retries,
    report,
    verbose,
    quiet,
    **kw,
) -> None:
    """Run WORKFLOW on an input; write result.zarr, the table and report.html.

    Exits 3 when the run finished but some inputs failed (see DIR/errors.csv).
    """
    if scheduler is None and scheduler_file is None:
        from ._workers import start_forkserver

        start_forkserver(kw["source"])  # before the imports below, on another core
    from .workflow import load_workflow
    from .workflow import run as run_workflow
    from .workflow.scheduler import limit_arenas

    limit_arenas()  # this process is ours (the library leaves malloc alone)

    _logging(verbose, quiet)
    wf = load_workflow(workflow)
    result = run_workflow(
        wf,
        kw["source"],
        output,
        chunks=chunks,
        save=tuple(s for s in save.split(",") if s) if save else None,
        workers=workers,
        scheduler=scheduler,
        scheduler_file=scheduler_file,
        default_scheduler="auto",
        table=table,
        table_format=table_format,
        progress=not quiet,
        resume=resume,
        verify=verify,
        overwrite=overwrite,
        max_failures=max_failures,
        retries=retries,
        report=report,
        **_input_kwargs(kw),
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
@click.option(
    "--input",
    "-i",
    "source",
    default=None,
    help="Also check the workflow against this input (reads headers only).",
)
@click.option("--axes", default=None, help="The input's axes (see run).")
@click.option("--scale", default=None, help="Physical pixel size per spatial axis.")
@click.option("--unit", default=None, help="Unit of --scale.")
@click.option("--channel-names", default=None, help="Channel names, comma-separated.")
@click.option("--level", default=None, help="OME-Zarr level.")
@click.option("--dataset", default=None, help="Array inside a Zarr group or HDF5 file.")
@click.option("--gray", is_flag=True, help="Convert RGB(A) images to grey levels.")
@click.option("--raw-shape", default=None, help="Shape of a raw file, Z,Y,X.")
@click.option("--raw-dtype", default=None, help="dtype of a raw file.")
@click.option("--raw-offset", default="0", help="Bytes to skip in a raw file.")
@click.option("--allow-remote", is_flag=True, help="Accept URL inputs.")
@_verbosity
@_debug
def validate(workflow, verbose, quiet, **kw) -> None:
    """Check WORKFLOW (and, with --input, that it fits the input) without running it."""
    from .workflow import check, load_workflow

    _logging(verbose, quiet)
    wf = load_workflow(workflow)
    source = kw["source"]
    plan = check(wf, source, **_input_kwargs(kw)) if source is not None else check(wf)
    where = ""
    if source is not None:
        where = f" for the {plan.kind} {plan.image.axes} {plan.image.shape} {plan.image.dtype}"
    click.echo(f"{workflow}: valid ({len(wf.steps)} steps){where}")
    if verbose and source is not None:
        for line in plan.describe():
            click.echo(f"  {line}")


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
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
@_debug
@click.pass_context
def info(ctx, directory, as_json) -> None:
    """Describe a run's output folder; exit 1 unless it holds a complete run."""
    from .workflow import info as folder_info

    d = folder_info(directory)
    if as_json:
        click.echo(json.dumps(d, indent=1, default=str))
        ctx.exit(0 if d["state"] == "complete" else 1)
    if d["state"] == "complete":
        state = "complete"
        if d["failed_inputs"]:
            state += f" ({d['failed_inputs']} inputs failed, see errors.csv)"
    elif d["state"] == "failed":
        f = d["failure"]
        state = f"failed ({f.get('exception')}: {f.get('message')}); its files are INCOMPLETE"
    elif d["state"] == "empty":
        state = "not a batchimg result folder (no result.zarr, no run)"
    else:
        state = (
            "incomplete (no _COMPLETE marker: interrupted or still running; its files are "
            "INCOMPLETE)"
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
    if d["state"] != "complete":
        ctx.exit(1)


@main.command()
@click.argument("workflow", type=click.Path(dir_okay=False))
@_input_options
@click.option("--image", type=int, default=0, show_default=True, help="Image of a collection.")
@click.option("--slice", "plane", type=int, default=None, help="Plane Z of a volume.")
@click.option("--output", "-o", default="preview.png", show_default=True, help="PNG to write.")
@_debug
def preview(workflow, image, plane, output, **kw) -> None:
    """Draw the input and every step's output for one image or plane."""
    from .workflow import load_workflow
    from .workflow.preview import preview as draw

    wf = load_workflow(workflow)
    path = draw(wf, kw["source"], output, image=image, plane=plane, **_input_kwargs(kw))
    click.echo(f"preview written to {path}")


@main.command()
@click.argument("directory", type=click.Path(file_okay=False))
@_verbosity
@_debug
def report(directory, verbose, quiet) -> None:
    """Write (again) DIRECTORY/report.html from a finished run's outputs."""
    from .workflow.report import rebuild_report

    _logging(verbose, quiet)
    path = rebuild_report(directory)
    click.echo(f"report written to {path}")


@main.command()
@click.option(
    "--output",
    "-o",
    default="batchimg-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for data and results.",
)
@_verbosity
@_debug
def demo(output, verbose, quiet) -> None:
    """Make synthetic images and a volume, and run the bundled workflows on them."""
    from .workflow import load_workflow
    from .workflow import run as run_workflow
    from .workflow.demo import DEMO_RUNS, bundled_workflow, make_demo_data
    from .workflow.scheduler import limit_arenas

    limit_arenas()  # this process is ours (the library leaves malloc alone)

    _logging(verbose, quiet)
    data = make_demo_data(os.path.join(output, "data"))
    for file, kind in DEMO_RUNS.items():
        wf = load_workflow(bundled_workflow(file))
        dest = os.path.join(output, wf.name)
        if kind == "images":
            run_workflow(wf, data["images"], dest, default_scheduler="auto", progress=not quiet)
        else:
            shape = tuple(int(s) for s in data["volume_shape"].split(","))
            run_workflow(
                wf, data["volume"], dest, raw_shape=shape, raw_dtype="uint8", progress=not quiet
            )
        click.echo(f"{wf.name}: {os.path.join(dest, 'report.html')}")
    click.echo(f"demo data in {os.path.join(output, 'data')}")


if __name__ == "__main__":  # pragma: no cover
    main()
