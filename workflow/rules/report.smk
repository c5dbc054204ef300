# The paper-vs-simulation table and the provenance record. Rule files of the stages
# append their row files (lemsim.targets.write_rows) to ROWS; this file must be included last.

ALL += [f"{RES}/tables/paper_vs_sim.csv", f"{RES}/provenance.json"]
#: Row files measured on the physics; they come last so that they win on a shared row id.
PHYSICS_ROWS = ("device.json", "studies.json")

if STUDIES["enabled"]:
    ROWS += [f"{RES}/tables/rows/studies.json"]


rule study_rows:
    # D1 and D8-D14 from the physics studies (pipeline.study_rows; the rules are in
    # studies.smk); the compact model's value of each row is named in its definition.
    input:
        traces=expand(f"{SRES}/traces/{{p}}.h5", p=STUDIES["figure_protocols"]),
        mechanism=f"{SRES}/mechanism_table.csv",
        profiles=f"{SRES}/profiles.json",
        nlem=f"{RES}/compact/nlem.json",
    output:
        f"{RES}/tables/rows/studies.json",
    params:
        solver=f"{STUDIES['solver']} drift-diffusion, {STUDIES['nodes_per_layer']} cells per layer",
    log:
        f"{LOGS}/studies/rows.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/study_rows.py"


rule paper_table:
    input:
        # Later files win on the same row id: the physics rows come last (physics first).
        rows=lambda wc: sorted(ROWS, key=lambda path: os.path.basename(path) in PHYSICS_ROWS),
        # the synapse source of the network rows, and their rows run on the preset
        nlem=f"{RES}/compact/nlem.json",
        preset=PRESET_ROWS,
    output:
        report(
            f"{RES}/tables/paper_vs_sim.csv",
            caption="../report/paper_table.rst",
            category="Paper vs simulation",
        ),
    params:
        scale=config["scale"],
    log:
        f"{LOGS}/paper_table.log",
    threads: 1
    conda:
        ENV
    script:
        "../scripts/paper_table.py"


rule provenance:
    output:
        report(f"{RES}/provenance.json", caption="../report/provenance.rst", category="Provenance"),
    params:
        config=config,
        config_files=CONFIG_FILES,
    log:
        f"{LOGS}/provenance.log",
    threads: 1
    conda:
        ENV
    script:
        "../scripts/provenance.py"
