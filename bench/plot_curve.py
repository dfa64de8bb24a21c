#!/usr/bin/python3
"""Draw the scale curve that `tendbench.py curve` measured (issue 14).

    /usr/bin/python3 bench/plot_curve.py [bench/results/curve.json] [bench/results/curve.png]

Debian's python3-matplotlib (apt-get install python3-matplotlib), hence /usr/bin/python3. Three
panels: CPU-ms per probe and RssAnon against the number of probes (log scale), tend keep-alive,
tend with a new connection per probe and Monit; CPU-ms per run and RSS against jobs per second."""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results", "curve.json")
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.splitext(src)[0] + ".png"
    with open(src) as f:
        data = json.load(f)
    fig, (ax_cpu, ax_mem, ax_jobs) = plt.subplots(1, 3, figsize=(15, 4.5))
    labels = {"tend": "tend (keep-alive)", "tendfresh": "tend (new connection per probe)", "monit": "Monit 5.33"}
    for who, series in data["probes"].items():
        ns = sorted(int(n) for n in series)
        ax_cpu.plot(ns, [series[str(n)]["cpu_ms"] for n in ns], marker="o", label=labels.get(who, who))
        ax_mem.plot(ns, [series[str(n)]["anon"] for n in ns], marker="o", label=labels.get(who, who) + " RssAnon")
        if who != "tendfresh":
            ax_mem.plot(ns, [series[str(n)]["rss"] for n in ns], marker="x", linestyle="--",
                        label=labels.get(who, who) + " RSS")
    for ax, title, unit in ((ax_cpu, "CPU per probe", "CPU-ms per probe"), (ax_mem, "memory", "MB")):
        ax.set_xscale("log")
        ax.set_xlabel("probes @1s")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ns = sorted(int(n) for n in data["jobs"])
    ax_jobs.plot(ns, [data["jobs"][str(n)]["cpu_ms"] for n in ns], marker="o", label="tendd CPU-ms per run")
    ax_jobs.set_xscale("log")
    ax_jobs.set_xlabel("jobs `* * * * * *` (/bin/true)")
    ax_jobs.set_ylabel("CPU-ms per run")
    ax_jobs.set_title("jobs")
    ax_jobs.grid(True, which="both", alpha=0.3)
    twin = ax_jobs.twinx()
    twin.plot(ns, [data["jobs"][str(n)]["rss"] for n in ns], marker="x", linestyle="--", color="gray", label="RSS MB")
    twin.set_ylabel("RSS MB")
    ax_jobs.legend(loc="upper left", fontsize=8)
    twin.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(dst, dpi=90)
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
