"""Alert rules on KPIs, their per-group states, and the evaluator that moves them.

Import from the modules themselves (`alerts.rules`, `alerts.state`,
`alerts.evaluator`): the settings module imports `alerts.rules`, so this
package must not pull in the analytics code, which imports the settings.
"""
