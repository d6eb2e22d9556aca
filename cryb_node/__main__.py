"""`python -m cryb_node` is the `cryb` command."""

from cryb_node.cli import main

main()
