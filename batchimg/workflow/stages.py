"""A volume plan's stages: bounded passes, each reading stored arrays with a halo.

See :func:`volume_stages`.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import _regions as R
from .model import LOCAL_ROADS, Plan, Stage
from .spec import INPUT
from .steps import planning_local


def volume_stages(plan: Plan) -> tuple[Stage, ...]:
    """Split a volume plan into bounded stages.

    Every output is either *stored* (the input, or an array some stage wrote) or
    computed on the way by local steps from stored ones. A ``statistic``,
    ``components`` or ``regions`` step needs its input whole, so its stage reads
    stored roots and computes the local steps in between in its own tasks; what a
    later stage or the results need is stored. A ``label`` step takes the region
    filters that follow it (nothing else reading the raw labels) into its resolve,
    and measures the regions there when its labels are the workflow's.
    """
    by_name = {s.name: s for s in plan.steps}
    stored = {INPUT}
    stages: list[Stage] = []
    consumers: dict[str, list[str]] = {}
    for s in plan.steps:
        consumers.setdefault(s.source, []).append(s.name)
        if s.intensity:
            consumers.setdefault(s.intensity, []).append(s.name)

    def path_to_root(name: str) -> list[str]:
        """Local steps between ``name`` and the stored outputs it comes from (in order)."""
        chain: list[str] = []
        todo = [name]
        while todo:
            n = todo.pop()
            if n in stored or n in chain:
                continue
            st = by_name[n]
            if st.road not in LOCAL_ROADS:
                raise AssertionError(f"{n} is not computed yet")  # pragma: no cover
            chain.append(n)
            todo.append(st.source)
        return sorted(chain, key=lambda n: by_name[n].number)

    def halo_of(names: Sequence[str], extra: Sequence[str] = ()) -> tuple[int, ...]:
        """The halo the stage's tasks read: the deepest sum of depths to a root."""
        nsp = len(plan.image.spatial_shape)
        need: dict[str, list[int]] = {n: [0] * nsp for n in [*names, *extra]}
        for n in sorted(path_to_root_all(names, extra), key=lambda n: -by_name[n].number):
            st = by_name[n]
            mine = need.get(n, [0] * nsp)
            up = [m + d for m, d in zip(mine, st.step.depth, strict=True)]
            prev = need.get(st.source, [0] * nsp)
            need[st.source] = [max(a, b) for a, b in zip(prev, up, strict=True)]
        roots = [need.get(r, [0] * nsp) for r in stored]
        return tuple(max(col) if col else 0 for col in zip(*roots, strict=True)) if roots else ()

    def path_to_root_all(names, extra=()):
        chain: list[str] = []
        for n in [*names, *extra]:
            for m in path_to_root(n):
                if m not in chain:
                    chain.append(m)
        return chain

    def roots_of(names: Sequence[str]) -> tuple[str, ...]:
        out = []
        for n in names:
            todo = [n]
            while todo:
                m = todo.pop()
                if m in stored:
                    if m not in out:
                        out.append(m)
                    continue
                todo.append(by_name[m].source)
        return tuple(out)

    handled: set[str] = set()
    steps = list(plan.steps)
    i = 0
    while i < len(steps):
        s = steps[i]
        i += 1
        if s.name in handled or s.road in LOCAL_ROADS:
            continue
        inputs = [s.source] + ([s.intensity] if s.intensity else [])
        if s.road == "statistic":
            # the step's input is stored first when it is computed (its blocks feed
            # both the histogram and the steps after the threshold)
            if s.source not in stored:
                chain = path_to_root(s.source)
                stages.append(
                    Stage(
                        "write",
                        None,
                        (),
                        roots_of([s.source]),
                        tuple(chain),
                        (s.source,),
                        halo_of([s.source]),
                        f"store {s.source!r} for the statistic of step {s.number}",
                    )
                )
                stored.add(s.source)
            stages.append(
                Stage(
                    "statistic",
                    s.number,
                    (),
                    (s.source,),
                    (),
                    (),
                    (0,) * len(plan.halo),
                    f"step {s.number} {s.op}: one {s.method[0]} threshold per "
                    "volume from a histogram of its input",
                )
            )
            # resolved: the threshold is now a local step
            by_name[s.name] = planning_local(s)
            steps[i - 1] = by_name[s.name]
            continue
        tail: list[int] = []
        last = s
        if s.op == "label":
            # region filters right after the label step join its resolve
            j = i
            while j < len(steps) and steps[j].road == "regions" and steps[j].source == last.name:
                if len(consumers.get(last.name, [])) != 1 or last.name in plan.need:
                    break
                if not R.one_pass(steps[j].params["properties"]):
                    break  # its columns need whole regions or neighbours: a stage of its own
                tail.append(steps[j].number)
                inputs += [steps[j].intensity] if steps[j].intensity else []
                last = steps[j]
                handled.add(last.name)
                j += 1
        kind = "components" if s.road == "components" else "regions"
        # a label stage measures in its pass 1 only when no property needs whole
        # regions or halos; other stages measure the labels they stored afterwards
        measured = plan.labels == last.name and (s.op != "label" or R.one_pass(plan.properties))
        computes = path_to_root_all([n for n in inputs if n not in stored])
        # the intensity image is read only when a measured property reads it
        reads_intensity = measured and plan.measures_intensity
        if reads_intensity and plan.intensity not in stored and plan.intensity not in computes:
            computes += [n for n in path_to_root(plan.intensity) if n not in computes]
        extra = [plan.intensity] if reads_intensity else []
        saved = tuple(n for n in computes if n in plan.need)
        stages.append(
            Stage(
                kind,
                s.number,
                tuple(tail),
                roots_of(inputs + extra),
                tuple(computes),
                (*saved, last.name),
                halo_of(inputs, extra),
                f"step {s.number} {s.op}"
                + (f" with the region filter(s) of step(s) {tail}" if tail else "")
                + (
                    ": per-block components merged across blocks"
                    if kind == "components"
                    else ": per-label statistics, then a relabelling"
                )
                + ("; the regions are measured in the same pass" if measured else ""),
                measured,
            )
        )
        stored.update(saved)
        stored.add(last.name)
        handled.add(s.name)
    # what remains to be written: needed outputs still computed on the way
    rest = [n for n in sorted(plan.need, key=lambda n: by_name[n].number) if n not in stored]
    if rest:
        chain = path_to_root_all(rest)
        stages.append(
            Stage(
                "write",
                None,
                (),
                roots_of(rest),
                tuple(chain),
                tuple(rest),
                halo_of(rest),
                f"compute and store {', '.join(map(repr, rest))}",
            )
        )
        stored.update(rest)
    if plan.labels is not None and not any(st.measures for st in stages):
        stages.append(
            Stage(
                "measure",
                None,
                (),
                (plan.labels, plan.intensity),
                (),
                (),
                (0,) * len(plan.halo),
                "measure the final labels: one pass of partial sums"
                + ("" if R.one_pass(plan.properties) else ", halos and region crops"),
                True,
            )
        )
    return tuple(stages)


__all__ = ["volume_stages"]
