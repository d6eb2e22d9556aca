"""Built-in plugins, one package per seed service; installed as cryb_plugins."""
