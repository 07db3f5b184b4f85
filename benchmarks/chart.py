"""The benchmark's ratio table as a bar chart (SVG): each contender's cost as a
multiple of the floor, by time and by instruction count, with the goals marked.
matplotlib is the optional `bench` extra: pip install "wsapeer[bench]"."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

Goal = Tuple[str, str, float, str, str]  # (key, op, limit, against, text), as run.TARGETS


def draw(
    path: Path,
    titles: Sequence[Tuple[str, str]],
    ratio: Dict[str, float],
    counts: Optional[Dict[str, float]],
    goals: Sequence[Goal],
) -> None:
    """Writes the chart to path (SVG, reproducible: no date, fixed ids)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "wsapeer"
    keys: List[str] = [key for key, _ in titles]
    labels = [title for _, title in titles]
    limits = {
        key: limit for key, op, limit, against, _ in goals if op == "<=" and against == "floor"
    }
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(keys) + 1.2))
    y = list(range(len(keys)))
    height = 0.38 if counts else 0.7
    ax.barh([v - height / 2 for v in y] if counts else y, [ratio[k] for k in keys], height,
            label="time (median of rounds)", color="#4477aa")  # fmt: skip
    if counts:
        floor = counts["floor"]
        ax.barh([v + height / 2 for v in y], [counts.get(k, 0) / floor for k in keys], height,
                label="instructions (callgrind)", color="#ccbb44")  # fmt: skip
    for index, key in enumerate(keys):
        if key in limits:
            ax.plot([limits[key]] * 2, [index - 0.45, index + 0.45], color="#ee6677", lw=2)
    ax.plot([], [], color="#ee6677", lw=2, label="goal")
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ticks = [t for t in (0.5, 1, 2, 5, 10, 20, 50) if t <= 1.5 * max(ratio.values())]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("x floor (a bare cffi call); log scale, lower is better")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
