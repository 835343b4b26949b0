// Package report is the daily report task: for every tenant and every finished local day (in the
// tenant's time zone, so 23 or 25 hours long on DST days) among the last CatchupDays that has no
// daily report yet and did not end before the tenant was created, it computes the day's
// operations report and inserts it into reports.
//
// Reports tile time: a day's period starts where the tenant's report of the day before ended and
// ends where the report of the day after starts (tile.go). Under one zone those are the local
// midnights; after a change of the tenant's zone the first day in the new zone is longer or
// shorter, and says so, and no instant is reported twice or never.
//
// A run finds the missing days of all tenants with one query (candidate days computed in Go,
// anti-joined to reports in SQL on the tenant's local date), then computes each report with a
// fixed number of aggregate queries, however many alerts and notifications the day had: nothing is
// loaded row by row into Go but the tenant's schedules, which come from oncall.LoadMany in one
// call per tenant, from the start of the earliest day the run reports for it on.
//
// Day boundaries and the business/off/sleep hour edges are computed in Go from the tenant's zone
// and passed to SQL as instants, so PostgreSQL's own zone database never has a say and the
// queries stay plain index range scans.
//
// A day is finished when its local end has passed and no run of another job that may still write
// into it is in progress: the escalation task stamps its pages and events with its firing's time
// and commits batch by batch for up to JOB_TIMEOUT, so a run fired at 23:59 may commit rows of
// 23:59 after midnight. One query per run asks the scheduler's run history for the earliest such
// firing still running (runs started more than a day ago do not count: a crashed process left them); a day
// ending after it is held back, counted in the summary as days_held_back, and written by a later
// run.
//
// Reports are immutable: the insert is ON CONFLICT DO NOTHING, and reports is unique on both
// (tenant_id, kind, period_date) and (tenant_id, kind, period_start), so a re-run or a replica
// running concurrently never duplicates nor changes a stored day; alerts written later into an
// already reported day do not change it either. A day is identified by its local date
// (period_date), not by the instant it starts: when a tenant's zone changes, every date starts at
// another instant, and the dates already reported under the old zone are not reported again.
//
// Failures are per tenant: an unknown zone name in tenants.time_zone or a failed query for one
// tenant is logged with tenant_id, counted (summary and opsworker_report_tenants_failed_total),
// and the other tenants still get their reports. A schedule the oncall loader rejects does not
// fail its tenant: the report lists that schedule with its error instead of hours and gaps.
package report
