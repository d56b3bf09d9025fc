"""The kit's benchmarks: ``python -m benchmarks`` runs them all, ``python -m benchmarks.X`` one."""
