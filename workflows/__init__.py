"""The bundled workflows (YAML), shipped as package data ``batchimg.workflows``."""
