"""coatcheck: server-side session authentication (the package `coatcheck` is the folder src/)."""
