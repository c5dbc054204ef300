# Offline datasets written as results/data/<name>.npz with provenance (networks.data).

DATASETS = config["networks"]["data"]["datasets"]
ALL += expand(f"{RES}/data/{{name}}.npz", name=DATASETS)


rule prepare_data:
    output:
        f"{RES}/data/{{name}}.npz",
    params:
        data=section("networks.data"),
        seed=config["seed"],
    log:
        f"{LOGS}/prepare_data/{{name}}.log",
    threads: 1
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/prepare_data.py"
