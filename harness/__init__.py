"""Code that starts Stevora's processes, loads runs and checks invariants, for tests/ and bench/."""
