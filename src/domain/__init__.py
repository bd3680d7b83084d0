"""The business of coatcheck: users, sessions and what may be done with them."""
