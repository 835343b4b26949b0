package scheduler

import (
	"encoding/json"
	"time"
)

// runJSON is a run's one encoding, shared by `opsworker run` and the console's API: absent
// instants and errors are null, and duration_seconds is the run's, rounded to the millisecond.
type runJSON struct {
	RunID           int64      `json:"run_id"`
	Job             string     `json:"job"`
	Status          string     `json:"status"`
	Trigger         *string    `json:"trigger"`
	Error           *string    `json:"error"`
	ScheduledAt     *time.Time `json:"scheduled_at"`
	StartedAt       *time.Time `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at"`
	DurationSeconds *float64   `json:"duration_seconds"`
	Summary         Summary    `json:"summary"`
}

// MarshalJSON encodes the run as `opsworker run` prints it and the console's API serves it.
func (r Run) MarshalJSON() ([]byte, error) {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	out := runJSON{RunID: r.ID, Job: r.Job, Status: r.Status, Summary: r.Summary,
		ScheduledAt: opt(r.ScheduledAt), StartedAt: opt(r.StartedAt), FinishedAt: opt(r.FinishedAt)}
	if r.Trigger != "" {
		out.Trigger = &r.Trigger
	}
	if r.Error != "" {
		out.Error = &r.Error
	}
	if !r.StartedAt.IsZero() && !r.FinishedAt.IsZero() {
		d := r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).Seconds()
		out.DurationSeconds = &d
	}
	return json.Marshal(out)
}
