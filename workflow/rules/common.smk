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
