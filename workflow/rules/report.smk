# The paper-vs-simulation table and the provenance record (issue 9). Rule files of the stages
# append their row files (lemsim.targets.write_rows) to ROWS; this file must be included last.

ALL += [f"{RES}/tables/paper_vs_sim.csv", f"{RES}/provenance.json"]


rule paper_table:
    input:
        # Later files win on the same row id: the physics rows come last (physics first).
        lambda wc: sorted(ROWS, key=lambda path: os.path.basename(path) == "device.json"),
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
    log:
        f"{LOGS}/provenance.log",
    threads: 1
    conda:
        ENV
    script:
        "../scripts/provenance.py"
