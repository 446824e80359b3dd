"""The one-node Slurm cluster (tests/support/slurmcluster.py) for every test of this folder:
imported here once, so the session starts one cluster, not one per test module."""

from support.slurmcluster import slurm_cluster  # noqa: F401 - fixture
