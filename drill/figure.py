"""The drill as one picture: a strip per case, each request a dot at the moment it ended (good or
failed, reads and writes: a request held by a hung server shows as a gap), with the moments the failure was injected and restored and the moment the node had
caught up again.

    python -m drill.figure .lab/drill.json docs/figures/drill     # writes drill.png and drill.svg

``python -m drill --figure STEM`` draws it at the end of a run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen: files only
import matplotlib.pyplot as plt  # noqa: E402

GOOD, FAILED = "#2a9d8f", "#d62828"
MARKS = (("injected", "#6c757d", "--", "failure injected"), ("restored", "#495057", "-", "restored"),
         ("caught_up", "#1d3557", ":", "caught up"))


def strip(ax, result: dict) -> None:
    """One case on AX: reads as small dots, writes as larger ones, failed ones red, and the marks."""
    timeline = result["timeline"]
    for is_write, ok, marker, size, colour in ((False, True, "|", 9, GOOD), (True, True, "o", 22, GOOD),
                                               (False, False, "x", 26, FAILED), (True, False, "X", 40, FAILED)):
        ts = [t for t, good, write in timeline["requests"] if good == ok and write == is_write]
        ax.scatter(ts, [0.5] * len(ts), s=size, c=colour, marker=marker, linewidths=1, zorder=3)
    for key, colour, style, _ in MARKS:
        if timeline.get(key) is not None:
            ax.axvline(timeline[key], color=colour, linestyle=style, linewidth=1.2, zorder=2)
    verdict = "ok" if result["passed"] else "FAIL"
    ax.set_yticks([])
    ax.set_ylim(0, 1)
    ax.text(-0.01, 0.5, f"{result['case']}  ", transform=ax.transAxes, ha="right", va="center", fontsize=8)
    ax.text(1.01, 0.5, f"{result['failed']} failed, gap {result['longest_outage_s']} s  {verdict}",
            transform=ax.transAxes, ha="left", va="center", fontsize=7,
            color=GOOD if result["passed"] else FAILED)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def draw(results: list[dict], stem: Path, title: str = "") -> list[Path]:
    """STEM.png and STEM.svg, one strip per result (those without a timeline are left out)."""
    shown = [r for r in results if r.get("timeline")]
    if not shown:
        raise ValueError("no case has a timeline to draw")
    fig, axes = plt.subplots(len(shown), 1, sharex=True, figsize=(11, 0.42 * len(shown) + 1.2), squeeze=False)
    for ax, result in zip(axes[:, 0], shown):
        strip(ax, result)
    axes[-1, 0].set_xlabel("seconds since the client started, each request when it ended (| read, o write; red x: failed)")
    handles = [plt.Line2D([], [], color=c, linestyle=s, label=label) for _, c, s, label in MARKS]
    fig.legend(handles=handles, loc="upper center", ncol=3, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    if title:
        fig.suptitle(title, y=1.0 + 0.25 / len(shown), fontsize=9)
    fig.subplots_adjust(left=0.25, right=0.8, top=1 - 0.5 / (0.42 * len(shown) + 1.2), hspace=0.25)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix in (".png", ".svg"):
        path = stem.with_suffix(suffix)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        written.append(path)
    plt.close(fig)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drill.figure", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="the drill's --json output")
    parser.add_argument("stem", type=Path, help="where to write STEM.png and STEM.svg")
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)
    for path in draw(json.loads(args.results.read_text()), args.stem, args.title):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
