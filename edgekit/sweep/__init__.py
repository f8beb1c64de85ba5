"""`edgekit sweep`: many configurations (models x boards x compression settings x seeds)
tried on Ray, each as `edgekit compress` + `codegen` + `profile` would alone.

spec.py (the sweep file -> checked trials) -> runner.py (Ray tasks; trial.py is what a
task does) -> store.py (one SQLite row per finished trial: resumable) -> report.py
(Pareto fronts, best per board, deploy commands, plots). pipeline.run_sweep chains them.
"""
