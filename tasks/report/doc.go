// Package report is the daily report task: for every tenant and every finished local day (in the
// tenant's time zone, so 23 or 25 hours long on DST days) among the last CatchupDays that has no
// daily report yet, it computes the day's operations report and inserts it into reports.
//
// A run finds the missing days of all tenants with one query (candidate days computed in Go,
// anti-joined to reports in SQL), then computes each report with a fixed number of aggregate
// queries, however many alerts and notifications the day had: nothing is loaded row by row into
// Go but the tenant's schedules, which come from oncall.LoadMany in one call per tenant.
//
// Day boundaries and the business/off/sleep hour edges are computed in Go from the tenant's zone
// and passed to SQL as instants, so PostgreSQL's own zone database never has a say and the
// queries stay plain index range scans.
//
// Reports are immutable: the insert is ON CONFLICT DO NOTHING on (tenant_id, kind, period_start),
// so a re-run or a replica running concurrently never duplicates nor changes a stored day; alerts
// written later into an already reported day do not change it either.
//
// Failures are per tenant: an unknown zone name in tenants.time_zone or a failed query for one
// tenant is logged with tenant_id, counted (summary and opsworker_report_tenants_failed_total),
// and the other tenants still get their reports. A schedule the oncall loader rejects does not
// fail its tenant: the report lists that schedule with its error instead of hours and gaps.
package report
