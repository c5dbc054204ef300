# UPENN vs Contrast Net of Fig. 5 (networks.experiments.upenn_run / upenn_figures): one job per
# network variant (pre-learning, gradients, transfer, re-learning, feature maps), then the
# panels, the accuracy table and the U1-U5 rows.

UPENN_VARIANTS = config["networks"]["upenn"]["variants"]
UPENN_DIR = f"{RES}/networks/upenn"
UPENN_FIGS = [
    f"{RES}/figures/fig5_gradient_profile.png",
    f"{RES}/figures/fig5def_feature_maps.png",
    f"{RES}/figures/fig5g_without_training.png",
    f"{RES}/figures/fig5h_relearning.png",
] + [
    f"{RES}/figures/{'fig5b' if v.startswith('upenn') else 'fig5c'}_{v}_gradients{t}.png"
    for v in UPENN_VARIANTS
    for t in ("", "_trained")
]

ALL += [f"{UPENN_DIR}/summary.json", f"{RES}/tables/upenn_fig5.csv"] + UPENN_FIGS
ROWS += [f"{RES}/tables/rows/upenn.json"]


rule upenn_variant:
    input:
        nlem=f"{RES}/compact/nlem.json",
    output:
        metrics=f"{UPENN_DIR}/{{variant}}/metrics.json",
        arrays=f"{UPENN_DIR}/{{variant}}/arrays.npz",
        model=f"{UPENN_DIR}/{{variant}}/model.pt",
    wildcard_constraints:
        variant="|".join(UPENN_VARIANTS),
    params:
        # without the variant list: adding a variant leaves the others' trainings alone
        upenn={k: v for k, v in section("networks.upenn").items() if k != "variants"},
        device=config["networks"]["device"],
        seed=config["seed"],
        checkpoints=f"{UPENN_DIR}/checkpoints/{{variant}}",
    log:
        f"{LOGS}/upenn/{{variant}}.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=60,
    script:
        "../scripts/upenn_variant.py"


rule upenn_fig5:
    input:
        expand(f"{UPENN_DIR}/{{variant}}/metrics.json", variant=UPENN_VARIANTS),
        expand(f"{UPENN_DIR}/{{variant}}/arrays.npz", variant=UPENN_VARIANTS),
    output:
        [f"{UPENN_DIR}/summary.json", f"{RES}/tables/upenn_fig5.csv",
         f"{RES}/tables/rows/upenn.json"]
        + [fig(p, "fig5", "Networks", "Fig. 5 UPENN vs Contrast Net") for p in UPENN_FIGS],
    params:
        run_dirs=expand(f"{UPENN_DIR}/{{variant}}", variant=UPENN_VARIANTS),
        fig_dir=lambda wildcards, output: os.path.dirname(output[3]),
        upenn=section("networks.upenn"),
    log:
        f"{LOGS}/upenn/fig5.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/upenn_fig5.py"
