# The material-to-accuracy sweep (pipeline.material_sweep): a Paramspace
# over PVP trap density (factor on the stack's PVP traps) x UV intensity. With sweep.solver
# dolfinx (default) each point runs train, UV and probe; with fv1d the train runs once per trap
# density and each point's UV reset and probe continue from it; the compact model is fitted to the
# point's trace and the FCN-2 co-design network runs on the fitted N-LEM; a failure at a
# point is written into that point's files and shown in its heat-map cell.

import pandas as pd
from snakemake.utils import Paramspace

SWEEP = section("sweep")
SWEEP_DIR = f"{RES}/sweep"
SWEEP_TRAPS = [f"{t:g}" for t in SWEEP["trap_density_factors"]]
SWEEP_UVS = [f"{u:g}" for u in SWEEP["uv_intensities_mw_cm2"]]
SWEEP_SPACE = Paramspace(
    pd.DataFrame([(t, u) for t in SWEEP_TRAPS for u in SWEEP_UVS], columns=["trap", "uv"],
                 dtype=str)
)
# Only the keys a rule reads are its params, so a changed key reruns just the rules using it.
_SWEEP_PHYSICS = {
    k: SWEEP[k] for k in ("solver", "train_pulses", "nodes_per_layer", "mesh", "rtol",
                          "max_wall_s")
}
_SWEEP_RESET = {k: SWEEP[k] for k in ("uv_duration_s", "reset_erased")}

if SWEEP["enabled"]:
    ALL += [f"{SWEEP_DIR}/summary.csv", f"{RES}/figures/sweep_heatmap.png"]


wildcard_constraints:
    trap=r"[0-9.eE+-]+",
    uv=r"[0-9.eE+-]+",


rule sweep_train:
    input:
        stack=SWEEP["stack"],
    output:
        f"{SWEEP_DIR}/trap~{{trap}}/train.npz",
    params:
        sweep=_SWEEP_PHYSICS,
    log:
        f"{LOGS}/sweep/train_trap~{{trap}}.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=60,
    script:
        "../scripts/sweep_train.py"


rule sweep_physics:
    input:
        stack=SWEEP["stack"],
        train=f"{SWEEP_DIR}/trap~{{trap}}/train.npz",
    output:
        f"{SWEEP_DIR}/{SWEEP_SPACE.wildcard_pattern}/physics.h5",
    params:
        sweep={**_SWEEP_PHYSICS, **_SWEEP_RESET},
    log:
        f"{LOGS}/sweep/physics_trap~{{trap}}_uv~{{uv}}.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=60,
    script:
        "../scripts/sweep_physics.py"


rule sweep_fit:
    input:
        f"{SWEEP_DIR}/{SWEEP_SPACE.wildcard_pattern}/physics.h5",
    output:
        f"{SWEEP_DIR}/{SWEEP_SPACE.wildcard_pattern}/nlem.json",
    params:
        sweep={k: SWEEP[k] for k in ("require_potentiation", "fit_max_nfev")},
        compact={k: config["compact"][k] for k in ("preset", "d2d_sigma", "c2c_sigma",
                                                   "read_noise")},
    log:
        f"{LOGS}/sweep/fit_trap~{{trap}}_uv~{{uv}}.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../scripts/sweep_fit.py"


rule sweep_fcn2:
    input:
        f"{SWEEP_DIR}/{SWEEP_SPACE.wildcard_pattern}/nlem.json",
    output:
        f"{SWEEP_DIR}/{SWEEP_SPACE.wildcard_pattern}/fcn2.json",
    params:
        sweep={k: SWEEP[k] for k in ("reset_erased", "fcn_train_samples", "fcn_test_samples",
                                     "fcn_epochs")},
        fcn=section("networks.fcn"),
        circuits=section("circuits"),
        seed=config["seed"],
    log:
        f"{LOGS}/sweep/fcn2_trap~{{trap}}_uv~{{uv}}.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/sweep_fcn2.py"


rule sweep_summary:
    input:
        expand(f"{SWEEP_DIR}/{{point}}/fcn2.json", point=SWEEP_SPACE.instance_patterns),
    output:
        table=f"{SWEEP_DIR}/summary.csv",
        heatmap=fig(f"{RES}/figures/sweep_heatmap.png", "sweep", "Material-to-accuracy sweep",
                    "FCN-2 accuracy per material"),
    params:
        traps=SWEEP["trap_density_factors"],
        uvs=SWEEP["uv_intensities_mw_cm2"],
    log:
        f"{LOGS}/sweep/summary.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/sweep_summary.py"
