"""Run the sample-data generator: ``python -m customer_health.examples --out DIR``."""

from .generate import main

main()
