"""The one-node Slurm cluster (tests/support/slurmcluster.py) for every test of this folder:
imported here once, so the session starts one cluster, not one per test module."""

from support import slurmcluster

slurm_cluster = slurmcluster.slurm_cluster  # the fixture, under its name
