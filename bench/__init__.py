"""Benchmarks of doctrine: evaluation beside hand-written Python and peer rule engines,
compilation, explanation, start-up and batch evaluation. Run them all with `python -m bench`.
"""
