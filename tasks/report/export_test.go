package report

import "time"

// LocalInstant exposes localInstant to the tests of package report_test.
func LocalInstant(year int, month time.Month, day, hour int, loc *time.Location) time.Time {
	return localInstant(civilDate{year, month, day}, hour, loc)
}

// The report's aggregate statements, for the benchmark's EXPLAIN. Each takes the arguments of
// its query function: tenant, period start, period end, then (escalations) EscalationEvents,
// (pages) the hour buckets (see PagesArgs) or (sources) the limit.
var (
	AlertsSQL      = alertsSQL
	EscalationsSQL = escalationsSQL
	PagesSQL       = pagesSQL
	SourcesSQL     = sourcesSQL
)

// EscalationEvents are EscalationsSQL's arguments after the period.
var EscalationEvents = escalationEvents

// PagesArgs returns PagesSQL's arguments for tenant's period [start, end) in loc.
func PagesArgs(tenant string, start, end time.Time, loc *time.Location) []any {
	return pagesArgs(tenant, start, end, loc)
}
