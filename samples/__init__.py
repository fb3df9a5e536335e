"""Synthetic sample files (no real patient data): encounters, a configuration, 837 and 835 files.

Installed with edi so that ``edi demo`` finds them: ``importlib.resources.files("samples")``."""
