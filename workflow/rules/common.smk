# Helpers shared by the rule files (no rules here).


def section(name):
    """Plain-data config section (e.g. section("networks.fcn")), for a rule's params."""
    node = config
    for part in name.split("."):
        node = node[part]
    return node
