# Device-physics studies with the fast fv1d solver: the mechanism table of
# the control stacks under UV (Fig. S8), profiles in the dark and under UV (Fig. 3), Paramspace
# sweeps of UV intensity (reset time) and PVP trap density (gain, NL), and the paper's Fig. 2 /
# S15 / S16 panels drawn from physics traces. Controls are derived from device.stack, so every
# study reruns on whatever the calibrated stack is. Outputs under results/studies and
# results/figures/studies.

import pandas as pd
from snakemake.utils import Paramspace

from device_physics.studies import CONTROLS
from device_physics.studies_config import studies_section

STUDIES = studies_section(config)
STUDY_STACK = config["device"]["stack"]
SRES = f"{RES}/studies"
SFIG = f"{RES}/figures/studies"
_bad_controls = sorted(set(STUDIES["controls"]) - set(CONTROLS))
if _bad_controls:
    raise WorkflowError(
        f"studies.controls: unknown {_bad_controls}; allowed {sorted(CONTROLS)}"
    )
UV_SPACE = Paramspace(pd.DataFrame({"uv_intensity": [float(v) for v in STUDIES["uv_intensities"]]}))
TRAP_SPACE = Paramspace(pd.DataFrame({"trap_scale": [float(v) for v in STUDIES["trap_scales"]]}))
PANELS = ["fig2a", "fig2c", "fig2d", "fig2f", "fig2g", "fig2h", "figS15_S16"]

if STUDIES["enabled"]:
    ALL += [
        f"{SRES}/mechanism_table.csv",
        f"{SFIG}/mechanism_uv.png",
        f"{SFIG}/profiles.png",
        f"{SRES}/profiles.json",
        f"{SRES}/sweep_uv_intensity.csv",
        f"{SFIG}/sweep_uv_intensity.png",
        f"{SRES}/sweep_trap_scale.csv",
        f"{SFIG}/sweep_trap_scale.png",
    ]
    ALL += expand(f"{SFIG}/{{panel}}.png", panel=PANELS)


rule study_mechanism_run:
    input:
        stack=STUDY_STACK,
        protocol=f"config/protocols/{STUDIES['mechanism_protocol']}.yaml",
    output:
        json=f"{SRES}/mechanism/{{control}}.json",
        h5=f"{SRES}/mechanism/{{control}}.h5",
    wildcard_constraints:
        control="|".join(CONTROLS),
    params:
        studies=STUDIES,
    log:
        f"{LOGS}/studies/mechanism_{{control}}.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=60,
    script:
        "../scripts/study_mechanism_run.py"


rule study_mechanism_table:
    input:
        expand(f"{SRES}/mechanism/{{c}}.json", c=STUDIES["controls"]),
    output:
        csv=f"{SRES}/mechanism_table.csv",
        png=fig(f"{SFIG}/mechanism_uv.png", "study_mechanism", "Device physics",
                "Mechanism and profiles"),
    log:
        f"{LOGS}/studies/mechanism_table.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/study_mechanism_table.py"


rule study_profiles:
    input:
        stack=STUDY_STACK,
    output:
        h5=f"{SRES}/profiles.h5",
        json=f"{SRES}/profiles.json",
        png=fig(f"{SFIG}/profiles.png", "study_profiles", "Device physics",
                "Mechanism and profiles"),
    params:
        studies=STUDIES,
    log:
        f"{LOGS}/studies/profiles.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=60,
    script:
        "../scripts/study_profiles.py"


rule study_sweep_uv_point:
    input:
        stack=STUDY_STACK,
        protocol=f"config/protocols/{STUDIES['uv_protocol']}.yaml",
    output:
        f"{SRES}/sweep_uv/{UV_SPACE.wildcard_pattern}.json",
    params:
        studies=STUDIES,
        kind="uv_intensity",
        point=lambda wc: UV_SPACE.instance(wc),
    log:
        f"{LOGS}/studies/sweep_uv/{UV_SPACE.wildcard_pattern}.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=60,
    script:
        "../scripts/study_sweep_point.py"


rule study_sweep_trap_point:
    input:
        stack=STUDY_STACK,
        protocol=f"config/protocols/{STUDIES['trap_protocol']}.yaml",
    output:
        f"{SRES}/sweep_trap/{TRAP_SPACE.wildcard_pattern}.json",
    params:
        studies=STUDIES,
        kind="trap_scale",
        point=lambda wc: TRAP_SPACE.instance(wc),
    log:
        f"{LOGS}/studies/sweep_trap/{TRAP_SPACE.wildcard_pattern}.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=60,
    script:
        "../scripts/study_sweep_point.py"


rule study_sweep_uv:
    input:
        expand(f"{SRES}/sweep_uv/{{p}}.json", p=UV_SPACE.instance_patterns),
    output:
        csv=f"{SRES}/sweep_uv_intensity.csv",
        png=fig(f"{SFIG}/sweep_uv_intensity.png", "study_sweep_uv", "Device physics",
                "Physics sweeps"),
    params:
        kind="uv_intensity",
    log:
        f"{LOGS}/studies/sweep_uv.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/study_sweep.py"


rule study_sweep_trap:
    input:
        expand(f"{SRES}/sweep_trap/{{p}}.json", p=TRAP_SPACE.instance_patterns),
    output:
        csv=f"{SRES}/sweep_trap_scale.csv",
        png=fig(f"{SFIG}/sweep_trap_scale.png", "study_sweep_trap", "Device physics",
                "Physics sweeps"),
    params:
        kind="trap_scale",
    log:
        f"{LOGS}/studies/sweep_trap.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/study_sweep.py"


rule study_trace:
    input:
        stack=STUDY_STACK,
        protocol="config/protocols/{protocol}.yaml",
    output:
        f"{SRES}/traces/{{protocol}}.h5",
    params:
        studies=STUDIES,
    log:
        f"{LOGS}/studies/trace_{{protocol}}.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=60,
    script:
        "../scripts/study_trace.py"


rule study_paper_panels:
    input:
        traces=expand(f"{SRES}/traces/{{p}}.h5", p=STUDIES["figure_protocols"]),
        mechanism=f"{SRES}/mechanism/nlem.h5",
    output:
        **{
            p: fig(f"{SFIG}/{p}.png", f"study_{p}", "Device physics",
                   "Paper panels from physics")
            for p in PANELS
        },
    params:
        names=STUDIES["figure_protocols"],
        mechanism=STUDIES["mechanism_protocol"],
    log:
        f"{LOGS}/studies/paper_panels.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/study_paper_panels.py"
