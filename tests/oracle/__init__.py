"""An independent oracle for `supportpulse kpis`, written from docs/metrics.md.

Nothing here imports the supportpulse package: the figures are rebuilt from the
raw files with the standard library, NumPy and VADER, so that a disagreement
points at the product or at the contract, never at shared code.
"""
