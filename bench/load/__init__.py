"""The load and fault suites (docs/proof.md): `python -m bench.load`, `make proof`."""
