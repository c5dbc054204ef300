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


def fig(path, caption, category):
    """A figure output shown in the HTML report with ``report/<caption>.rst``."""
    return report(path, caption=f"../report/{caption}.rst", category=category)
