# SPDX-License-Identifier: MIT
# Plot of bench/backends.sh: one cluster per case, one bar per backend
# column, the bar's height the ratio to the baseline column (>1 is better;
# for round trips the inverse of the time ratio), the median written on it.
# Dashed lines at the targets (0.9 bulk, 0.8 request/response).
#
#   python3 bench/plot_backends.py results.csv plot.png [TITLE]
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    src, dst = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else "moat backends"
    cases, cols, cell, units = [], [], {}, {}
    with open(src, newline="") as f:
        for row in csv.DictReader(f):
            c, col = row["case"], row["column"]
            if c not in cases:
                cases.append(c)
            if col not in cols:
                cols.append(col)
            units[c] = row["unit"]
            cell[(c, col)] = (row["median"], row["ratio"])
    width = 0.8 / max(1, len(cols))
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(cases) + 2), 5))
    for k, col in enumerate(cols):
        xs, ys, labels = [], [], []
        for j, c in enumerate(cases):
            med, ratio = cell.get((c, col), ("-", "-"))
            xs.append(j + (k - (len(cols) - 1) / 2) * width)
            ys.append(float(ratio) if ratio not in ("-", "") else 0.0)
            labels.append(med)
        bars = ax.bar(xs, ys, width, label=col)
        for b, lab in zip(bars, labels):
            if lab in ("-", ""):
                continue
            v = float(lab)
            ax.annotate(f"{v:.0f}" if v >= 100 else f"{v:.1f}",
                        (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=7, rotation=90,
                        xytext=(0, 2), textcoords="offset points")
    ax.axhline(0.9, ls="--", lw=0.8, color="grey")
    ax.axhline(0.8, ls=":", lw=0.8, color="grey")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([f"{c}\n({units[c]})" for c in cases], fontsize=8)
    ax.set_ylabel(f"ratio to {cols[0]} (>1 better; rr: inverse time)")
    ax.set_ylim(0, max(1.3, ax.get_ylim()[1] * 1.1))
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main()
