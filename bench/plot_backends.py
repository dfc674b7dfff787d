# SPDX-License-Identifier: MIT
# Plot of bench/backends.sh (and bench/compare.sh): one cluster per case,
# one bar per column, the bar's height the ratio to the baseline column
# (>1 is better; for round trips the inverse of the time ratio), the median
# written on it. Dashed lines at the targets (0.9 bulk, 0.8
# request/response). When the run measured CPU time (bulk cases), a second
# panel shows CPU seconds per GB for each column (lower is better).
#
#   python3 bench/plot_backends.py results.csv plot.png [TITLE]
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def num(v):
    """The float in a cell, or None for "-", "n/a" and empty cells."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def bars(ax, cases, cols, value, label):
    width = 0.8 / max(1, len(cols))
    for k, col in enumerate(cols):
        xs, ys, labels = [], [], []
        for j, c in enumerate(cases):
            xs.append(j + (k - (len(cols) - 1) / 2) * width)
            v = value(c, col)
            ys.append(v if v is not None else 0.0)
            labels.append(label(c, col))
        drawn = ax.bar(xs, ys, width, label=col)
        for b, lab in zip(drawn, labels):
            v = num(lab)
            if v is None:
                continue
            ax.annotate(f"{v:.0f}" if v >= 100 else (f"{v:.1f}" if v >= 10 else f"{v:.2f}"),
                        (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=7, rotation=90,
                        xytext=(0, 2), textcoords="offset points")


def main():
    src, dst = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else "moat backends"
    cases, cols, cell, units, cpu = [], [], {}, {}, {}
    with open(src, newline="") as f:
        for row in csv.DictReader(f):
            c, col = row["case"], row["column"]
            if c not in cases:
                cases.append(c)
            if col not in cols:
                cols.append(col)
            units[c] = row["unit"]
            cell[(c, col)] = (row["median"], row["ratio"])
            # CPU seconds per GB: the "cpu" field of bulk cases (round
            # trips and connections have CPU microseconds per operation).
            v = num(row.get("cpu"))
            if v is not None and row["unit"] == "Mbit/s":
                cpu[(c, col)] = v
    cpu_cases = [c for c in cases if any((c, col) in cpu for col in cols)]
    panels = 2 if cpu_cases else 1
    fig, axes = plt.subplots(panels, 1, squeeze=False,
                             figsize=(max(8, 1.6 * len(cases) + 2), 5 * panels))
    ax = axes[0][0]
    bars(ax, cases, cols, lambda c, col: num(cell.get((c, col), ("-", "-"))[1]),
         lambda c, col: cell.get((c, col), ("-", "-"))[0])
    ax.axhline(0.9, ls="--", lw=0.8, color="grey")
    ax.axhline(0.8, ls=":", lw=0.8, color="grey")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([f"{c}\n({units[c]})" for c in cases], fontsize=8)
    ax.set_ylabel(f"ratio to {cols[0]} (>1 better; rr: inverse time)")
    ax.set_ylim(0, max(1.3, ax.get_ylim()[1] * 1.1))
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    if cpu_cases:
        ax = axes[1][0]
        bars(ax, cpu_cases, cols, lambda c, col: cpu.get((c, col)),
             lambda c, col: cpu.get((c, col)))
        ax.set_xticks(range(len(cpu_cases)))
        ax.set_xticklabels(cpu_cases, fontsize=8)
        ax.set_ylabel("CPU seconds per GB (lower is better)")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.15)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main()
