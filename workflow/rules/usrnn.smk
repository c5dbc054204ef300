# USRNN and the SR baselines of Fig. 6 (networks.experiments.usrnn_fig6): one training job per
# method (x2, then x4 transfer), then the table, the S rows and the Fig. 6 panels.

USRNN_METHODS = config["networks"]["usrnn"]["methods"]
USRNN_DIR = f"{RES}/networks/usrnn"

ALL += [
    f"{USRNN_DIR}/report/table.csv",
    f"{RES}/figures/fig6_bcde.png",
    f"{RES}/figures/fig6f.png",
]
ROWS += [f"{RES}/tables/rows/usrnn.json"]


rule usrnn_train:
    input:
        nlem=f"{RES}/compact/nlem.json",
    output:
        metrics=f"{USRNN_DIR}/{{method}}/metrics.json",
        x2=f"{USRNN_DIR}/{{method}}/model_x2.pt",
        x4=f"{USRNN_DIR}/{{method}}/model_x4.pt",
    wildcard_constraints:
        method="|".join(USRNN_METHODS),
    params:
        # without the method list and the report's image: adding a method or changing the
        # report leaves the other methods' trainings alone (--list-changes params)
        usrnn={k: v for k, v in section("networks.usrnn").items()
               if k not in ("methods", "show_image")},
        device=config["networks"]["device"],
        seed=config["seed"],
        checkpoints=f"{USRNN_DIR}/checkpoints/{{method}}",
    log:
        f"{LOGS}/usrnn/train_{{method}}.log",
    benchmark:
        f"{LOGS}/usrnn/train_{{method}}.benchmark.tsv"
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../scripts/usrnn_train.py"


rule usrnn_report:
    input:
        expand(f"{USRNN_DIR}/{{method}}/metrics.json", method=USRNN_METHODS),
        expand(f"{USRNN_DIR}/{{method}}/model_x2.pt", method=USRNN_METHODS),
        expand(f"{USRNN_DIR}/{{method}}/model_x4.pt", method=USRNN_METHODS),
    output:
        table=f"{USRNN_DIR}/report/table.csv",
        rows=f"{RES}/tables/rows/usrnn.json",
        fig_bcde=fig(f"{RES}/figures/fig6_bcde.png", "fig6", "Networks", "Fig. 6 USRNN"),
        fig_f=fig(f"{RES}/figures/fig6f.png", "fig6", "Networks", "Fig. 6 USRNN"),
    params:
        usrnn=section("networks.usrnn"),
        scale=config["scale"],
        metrics=expand(f"{USRNN_DIR}/{{method}}/metrics.json", method=USRNN_METHODS),
        out_dir=lambda wildcards, output: os.path.dirname(output.table),
    log:
        f"{LOGS}/usrnn/report.log",
    benchmark:
        f"{LOGS}/usrnn/report.benchmark.tsv"
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=3000,
        runtime=20,
    script:
        "../scripts/usrnn_report.py"
