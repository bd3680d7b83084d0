"""coatcheck's benchmark harness (issue 8): `bench/run`, see bench/README.md."""
