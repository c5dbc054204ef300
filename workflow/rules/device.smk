# Drift-diffusion of the device stacks (device_physics): one HDF5 per (study, protocol).
# study "nlem" is the configured stack (device.stack); other studies are the control stacks
# config/stacks/<study>.yaml. Protocols are config/protocols/<protocol>.yaml.

from device_physics.studies_config import studies_section

DEVICE = section("device")
if DEVICE["enabled"]:
    ALL += expand(f"{RES}/device/nlem/{{p}}.h5", p=DEVICE["protocols"])
    ALL += expand(f"{RES}/figures/device/nlem/{{p}}.png", p=DEVICE["protocols"])


rule device_run:
    input:
        stack=_device_stack,
        protocol="config/protocols/{protocol}.yaml",
    output:
        f"{RES}/device/{{study}}/{{protocol}}.h5",
    params:
        device=DEVICE,
        # the same wall-time limit as every study run (studies.max_wall_s; 0: none)
        max_wall_s=studies_section(config)["max_wall_s"],
    log:
        f"{LOGS}/device/{{study}}_{{protocol}}.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=120,
    script:
        "../scripts/device_run.py"


rule device_figure:
    input:
        f"{RES}/device/{{study}}/{{protocol}}.h5",
    output:
        fig(f"{RES}/figures/device/{{study}}/{{protocol}}.png", "device", "Device physics",
            "Drift-diffusion runs"),
    log:
        f"{LOGS}/device/figure_{{study}}_{{protocol}}.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/device_figure.py"


# Pulse trains of the device rows: the device stage's and the studies' (each read once, where
# it is computed: physics_trace in common.smk).
_STUDY_SEC = studies_section(config)
_PULSE_RUNS = sorted(
    {p for p in DEVICE["protocols"] if p.startswith("pulses_")}
    | (
        {p for p in _STUDY_SEC["figure_protocols"] if p.startswith("pulses_")}
        if _STUDY_SEC["enabled"]
        else set()
    )
)
if DEVICE["enabled"] and _PULSE_RUNS:
    ROWS += [f"{RES}/tables/rows/device.json"]


rule device_rows:
    input:
        traces=[physics_trace(p) for p in _PULSE_RUNS],
        nlem=f"{RES}/compact/nlem.json",
    output:
        f"{RES}/tables/rows/device.json",
    log:
        f"{LOGS}/device/rows.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/device_rows.py"
