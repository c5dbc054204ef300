# Circuits stage and the FCN-1/FCN-2 co-design of Fig. 4 (circuits + networks.fcn).

FIG4 = ("fig4", "Circuits", "Fig. 4 FCN-1/FCN-2 co-design")  # caption, report (sub)category

ALL += [
    f"{RES}/networks/fcn/metrics.json",
    f"{RES}/networks/fcn/f_rows.csv",
    f"{RES}/figures/fig4d_accuracy_vs_classes.png",
]
ROWS += [f"{RES}/tables/rows/fcn.json"]


rule circuits_fcn_codesign:
    input:
        nlem=f"{RES}/compact/nlem.json",
    output:
        metrics=f"{RES}/networks/fcn/metrics.json",
        f_rows=f"{RES}/networks/fcn/f_rows.csv",
        h5=f"{RES}/networks/fcn/synapses.h5",
        fig_d=fig(f"{RES}/figures/fig4d_accuracy_vs_classes.png", *FIG4),
        fig_e=fig(f"{RES}/figures/fig4e_weight_distribution.png", *FIG4),
        fig_f=fig(f"{RES}/figures/fig4f_accuracy_per_epoch.png", *FIG4),
        rows=f"{RES}/tables/rows/fcn.json",
    params:
        fcn=section("networks.fcn"),
        circuits=section("circuits"),
        seed=config["seed"],
        scale=config["scale"],
    log:
        f"{LOGS}/circuits/fcn_codesign.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/circuits_fcn_codesign.py"


# The same co-design on the paper preset (compact.source "physics" only): the preset's F rows
# become the preset_value column of the table beside the physics-sourced ones. Only the FCN
# (about a minute at default scale); UPENN and USRNN are not rerun (lemsim.targets).
PRESET_ROWS = [f"{RES}/tables/rows_preset/fcn.json"] if COMPACT["source"] == "physics" else []
ALL += PRESET_ROWS


rule circuits_fcn_preset:
    output:
        nlem=f"{RES}/networks/fcn_preset/nlem_preset.json",
        metrics=f"{RES}/networks/fcn_preset/metrics.json",
        f_rows=f"{RES}/networks/fcn_preset/f_rows.csv",
        h5=f"{RES}/networks/fcn_preset/synapses.h5",
        rows=f"{RES}/tables/rows_preset/fcn.json",
    params:
        fcn=section("networks.fcn"),
        circuits=section("circuits"),
        compact=COMPACT,
        seed=config["seed"],
        scale=config["scale"],
    log:
        f"{LOGS}/circuits/fcn_preset.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/circuits_fcn_preset.py"
