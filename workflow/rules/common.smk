# Helpers shared by the rule files (no rules here).


def section(name):
    """Plain-data config section (e.g. section("networks.fcn")), for a rule's params."""
    node = config
    for part in name.split("."):
        node = node[part]
    return node


def _device_stack(wildcards):
    if wildcards.study == "nlem":
        return config["device"]["stack"]
    return f"config/stacks/{wildcards.study}.yaml"


#: Top-level groups of the HTML report, one per stage of the stack (then the cross-cutting ones).
REPORT_CATEGORIES = (
    "Device physics",
    "Circuits",
    "Networks",
    "Material-to-accuracy sweep",
    "Paper vs simulation",
    "Provenance",
)


def fig(path, caption, category, subcategory=None):
    """A figure output shown in the HTML report with ``report/<caption>.rst``, grouped under
    ``category`` (one of REPORT_CATEGORIES) and ``subcategory``."""
    if category not in REPORT_CATEGORIES:
        raise WorkflowError(f"report category {category!r}: allowed {list(REPORT_CATEGORIES)}")
    return report(path, caption=f"../report/{caption}.rst", category=category,
                  subcategory=subcategory)


def physics_trace(protocol):
    """Path of the drift-diffusion trace of ``protocol`` on the configured stack, read where
    the DAG already computes it, so that no protocol runs twice: the device stage's run when
    ``device.protocols`` lists it, else the studies' trace when ``studies.figure_protocols``
    lists it (same stack; at default scale the same solver and mesh), else a device run of
    its own (rule ``device_run``)."""
    from device_physics.studies_config import studies_section

    studies = studies_section(config)
    if protocol not in config["device"]["protocols"] and studies["enabled"] and (
        protocol in studies["figure_protocols"]
    ):
        return f"{config['results']}/studies/traces/{protocol}.h5"
    return f"{config['results']}/device/nlem/{protocol}.h5"
