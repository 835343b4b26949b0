package report

import "time"

// Kind is the reports.kind of the reports this task writes.
const Kind = "daily"

// Body is a daily report as stored in reports.body (JSON; jsonb keeps no key order). Every list
// is present, empty rather than null, and sorted as documented on its field, so two reports of
// the same data are equal. Times are RFC 3339 with the tenant's UTC offset of that instant.
type Body struct {
	Kind        string    `json:"kind"` // always "daily"
	Tenant      Tenant    `json:"tenant"`
	Period      Period    `json:"period"`
	GeneratedAt time.Time `json:"generated_at"` // the run's now: what later data the report could not see

	Alerts Alerts `json:"alerts"`
	// AlertsPerHour counts the alerts created in each hour of the period, from its start: entry
	// i counts [start + i h, start + (i+1) h), the last hour cut at the period's end (so 23, 24
	// or 25 entries for a local day). They sum to Alerts.Triggered: one scan counts both, so a
	// chart of the day agrees with its total. Reports written before this field have none.
	AlertsPerHour     []int64   `json:"alerts_per_hour"`
	TimeToAcknowledge Durations `json:"time_to_acknowledge"` // alerts acknowledged in the period: acknowledged_at - created_at
	TimeToResolve     Durations `json:"time_to_resolve"`     // alerts resolved in the period: resolved_at - created_at

	Escalations Escalations `json:"escalations"`
	Pages       Pages       `json:"pages"`
	// NoisiestSources are the (at most) five sources with the most alerts created in the period,
	// by count descending, then source ascending (byte order).
	NoisiestSources []SourceCount `json:"noisiest_sources"`
	// Deliveries counts the deliveries of the period's pages by channel (in name order) and
	// outcome, as they stood when the report was written.
	Deliveries []DeliveryCount `json:"deliveries"`
	// Schedules are the tenant's on-call schedules, by id.
	Schedules []ScheduleReport `json:"schedules"`
}

// Tenant names whose report it is.
type Tenant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Period is the time reported, [Start, End): the local day, local midnight to local midnight,
// unless Tiled says otherwise.
type Period struct {
	Date     string    `json:"date"` // the local date, YYYY-MM-DD
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	TimeZone string    `json:"time_zone"` // tenants.time_zone when the report was written
	Hours    float64   `json:"hours"`     // 24, or 23 / 25 on DST changes; other lengths when tiled
	// Tiled is set (null otherwise) when the period is not the local day: a tenant's reports
	// tile time, so after a change of its zone the day starts where the previous report ended,
	// or ends where the next one starts, and is longer or shorter than the local day; no instant
	// is in two reports or in none.
	Tiled *Tiling `json:"tiled"`
}

// Tiling is how a period differs from its local day.
type Tiling struct {
	// LocalDayStart and LocalDayEnd are the local day's midnights in TimeZone.
	LocalDayStart time.Time `json:"local_day_start"`
	LocalDayEnd   time.Time `json:"local_day_end"`
	// PreviousTimeZone is the zone of the report the period starts after, when the period does
	// not start at local midnight ("" otherwise); NextTimeZone the same for its end.
	PreviousTimeZone string `json:"previous_time_zone,omitempty"`
	NextTimeZone     string `json:"next_time_zone,omitempty"`
}

// Alerts counts the tenant's alerts by what happened to them in the period.
type Alerts struct {
	Triggered    int64 `json:"triggered"`    // created_at in the period
	Acknowledged int64 `json:"acknowledged"` // acknowledged_at in the period (bad timestamps included)
	Resolved     int64 `json:"resolved"`     // resolved_at in the period (bad timestamps included)
	// OpenAtEnd counts alerts created before the end of the period and not resolved before it
	// (resolved_at null or >= end), whatever day they were created.
	OpenAtEnd int64 `json:"open_at_end"`
}

// Durations summarises how long something took, in seconds, over the alerts it happened to in
// the period. Each duration is the exact difference of the two stored timestamps (microseconds).
// Mean is their arithmetic mean; P50 and P90 are continuous percentiles (PostgreSQL's
// percentile_cont: sort the n values, take the value at 0-based position p*(n-1), interpolating
// linearly between the two neighbours when it falls between them). All three are rounded to the
// millisecond, which makes them deterministic whatever the plan's summation order. With Count 0
// they are null. A duration that comes out negative (acknowledged or resolved before the alert
// was created: another service's clock or bad data) is left out of all four and counted in
// BadTimestamps instead.
type Durations struct {
	Count         int64    `json:"count"`
	BadTimestamps int64    `json:"bad_timestamps"`
	MeanSeconds   *float64 `json:"mean_seconds"`
	P50Seconds    *float64 `json:"p50_seconds"`
	P90Seconds    *float64 `json:"p90_seconds"`
}

// Escalations counts the alert_events the escalation task recorded in the period.
type Escalations struct {
	// Total counts 'escalated' events: steps that paged someone. A step that reached nobody
	// records 'nobody_paged' instead and is not an escalation.
	Total  int64       `json:"total"`
	ByStep []StepCount `json:"by_step"` // the same, by escalation step, ascending
	// PoliciesExhausted counts alerts with a 'policy_exhausted' event in the period: every step
	// and repeat was paged and nobody acknowledged.
	PoliciesExhausted int64 `json:"policies_exhausted"`
	AckTimeouts       int64 `json:"ack_timeouts"` // 'ack_timeout' events: acknowledgements that expired
}

// StepCount is the number of 'escalated' events at one escalation step.
type StepCount struct {
	Step  *int32 `json:"step"` // escalation_steps.position, 0 = first step; null if not recorded
	Count int64  `json:"count"`
}

// HourSplit divides pages by the tenant's local time of notifications.created_at into three
// disjoint buckets that sum to the total: business hours are Monday to Friday 08:00-18:00, sleep
// hours are 22:00-08:00 every day, off hours are the rest (Monday to Friday 18:00-22:00, Saturday
// and Sunday 08:00-22:00). Sleep is not a part of off hours.
type HourSplit struct {
	BusinessHours int64 `json:"business_hours"`
	OffHours      int64 `json:"off_hours"`
	SleepHours    int64 `json:"sleep_hours"`
}

// Pages counts notifications created in the period.
type Pages struct {
	Total int64 `json:"total"`
	HourSplit
	// ByResponder lists every responder paged, by total descending, then responder id.
	ByResponder []ResponderPages `json:"by_responder"`
	// UnreachedTotal counts the pages that reached nobody (failed: no delivery sent, or no
	// contact method); Unreached lists the first 50, oldest first.
	UnreachedTotal int64           `json:"unreached_total"`
	Unreached      []UnreachedPage `json:"unreached"`
}

// ResponderPages is one responder's pages.
type ResponderPages struct {
	ResponderID int64  `json:"responder_id"`
	Name        string `json:"name"` // empty if the responder no longer exists
	Total       int64  `json:"total"`
	HourSplit
}

// SourceCount is the number of alerts one source created in the period.
type SourceCount struct {
	Source string `json:"source"`
	Alerts int64  `json:"alerts"`
}

// ScheduleReport is one on-call schedule's coverage: over the period, and over the seven local
// days after it, so a hole shows up in a report before it happens. Gaps are computed from the
// schedule as it was when the report was written (later overrides are not in it).
type ScheduleReport struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Error is set when the schedule could not be loaded (bad data, see oncall.LoadMany); OnCall,
	// Gaps and UpcomingGaps are then empty, since nothing is known about them.
	Error string `json:"error,omitempty"`
	// Problems are what is wrong with the schedule that does not stop it from answering (see
	// oncall.Schedule.Problems): a participant or override responder that is no longer a
	// responder of the tenant, whose turns are gaps. Empty when there is nothing wrong.
	Problems []string `json:"problems"`
	// OnCall is the time each responder was on call in the period, by time descending, then
	// responder id. With Gaps it adds up to the period.
	OnCall []OnCallTime `json:"on_call"`
	// Gaps are the stretches of the period with nobody on call, in order, clipped to the period.
	Gaps []Gap `json:"gaps"`
	// UpcomingGaps are the gaps in [period end, UpcomingUntil), clipped to that window: a gap
	// running over the period's end appears in both lists.
	UpcomingGaps  []Gap     `json:"upcoming_gaps"`
	UpcomingUntil time.Time `json:"upcoming_until"` // local midnight seven days after the period's end
}

// OnCallTime is how long a responder was on call.
type OnCallTime struct {
	ResponderID int64   `json:"responder_id"`
	Name        string  `json:"name"`
	Seconds     int64   `json:"seconds"` // rounded to the second
	Hours       float64 `json:"hours"`   // rounded to the hundredth
}

// Gap is a stretch [Start, End) with nobody on call.
type Gap struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Hours float64   `json:"hours"` // rounded to the hundredth
}
