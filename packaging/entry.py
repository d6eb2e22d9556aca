"""Entry point of the single-file executable: the same `cryb` command the wheel installs."""

import multiprocessing

# The search index's writer process comes from multiprocessing's forkserver, which re-runs this
# executable; freeze_support lets such a run become the forkserver instead of the CLI.
multiprocessing.freeze_support()

from cryb_node.cli import main  # noqa: E402

main()
