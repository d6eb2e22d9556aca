"""Entry point of the single-file executable: the same `cryb` command the wheel installs."""

from cryb_node.cli import main

main()
