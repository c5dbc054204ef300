# Compact N-LEM model (compact_model): fit to the physics traces (compact.source "physics", the
# default; each trace read where the device or study stage computes it, physics_trace in
# common.smk), to a measured device (compact.source "measured": the files of compact.measured
# and their .meta.yaml), or the paper preset (compact.source "paper"); then the device panels
# and the fit report. "physics" with the device stage off is refused when the config is loaded.

COMPACT = section("compact")
_USE_PHYSICS = COMPACT["source"] == "physics"
COMPACT_TRACES = (
    [physics_trace(p) for p in COMPACT["physics_protocols"]] if _USE_PHYSICS else []
)
COMPACT_MEASURED = (
    list(COMPACT["measured"]) if COMPACT["source"] == "measured" else []
)
COMPACT_META = [
    m
    for m in (os.path.splitext(p)[0] + ".meta.yaml" for p in COMPACT_MEASURED)
    if os.path.exists(m)
]
COMPACT_FIGS = [
    f"{RES}/figures/compact_{name}.png"
    for name in (
        "fig2a_iv", "fig2c_epsc_epsb", "fig2f_gains", "fig2g_ppf", "figS15_decay", "figS16_uv_reset"
    )
]

ROWS += [f"{RES}/tables/rows/compact.json"]
ALL += [
    f"{RES}/compact/nlem.json",
    f"{RES}/compact/physics_vs_compact.csv",
    f"{RES}/figures/compact_fit_report.png",
    *COMPACT_FIGS,
]


rule fit_compact:
    input:
        traces=COMPACT_TRACES,
        measured=COMPACT_MEASURED,
        meta=COMPACT_META,
    output:
        json=f"{RES}/compact/nlem.json",
        report=fig(f"{RES}/figures/compact_fit_report.png", "compact", "Device physics",
                   "Compact model"),
        rows=f"{RES}/tables/rows/compact.json",
        table=f"{RES}/compact/physics_vs_compact.csv",
    params:
        compact=COMPACT,
    log:
        f"{LOGS}/compact/fit_compact.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/compact_fit.py"


rule compact_figures:
    input:
        json=f"{RES}/compact/nlem.json",
    output:
        [fig(p, "compact", "Device physics", "Compact model") for p in COMPACT_FIGS],
    log:
        f"{LOGS}/compact/compact_figures.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/compact_figures.py"
