package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/opsworker/opsworker/console/chart"
	"github.com/opsworker/opsworker/scheduler"
)

// How much of a job's history the Jobs page shows: its last runs, and a chart of the last day's
// durations in quarter-hour buckets.
const (
	jobPageRuns  = 10
	chartWindow  = 24 * time.Hour
	chartBuckets = 96
)

// jobView is one job on the Jobs page and in /api/v1/jobs.
type jobView struct {
	Name, Variable string
	Off            bool
	Spec           string
	Location       *time.Location
	Next           []time.Time
	DSTNotes       []string
	LastSuccess    *scheduler.Run
	Runs           []scheduler.Run
	Chart          chart.BarsLayout
	ChartRuns      int
	ChartFailed    int
}

// job reads what the Jobs page shows of j at now; with runs false only its last run and last
// success (the API's answer).
func (s *Server) job(ctx context.Context, j Job, now time.Time, full bool) (jobView, error) {
	v := jobView{Name: j.Name, Variable: j.Variable, Off: j.Spec == nil, Location: time.UTC}
	if j.Spec != nil {
		v.Spec, v.Location = j.Spec.Text, j.Spec.Location
		v.Next = j.Spec.Upcoming(now, 5)
		for _, n := range j.Spec.DSTNotes(now, now.AddDate(1, 0, 0)) {
			v.DSTNotes = append(v.DSTNotes, n.Text)
		}
	}
	limit := 1
	if full {
		limit = jobPageRuns
	}
	page, err := scheduler.ListRuns(ctx, s.opts.Pool, scheduler.RunFilter{Job: j.Name, Limit: limit})
	if err != nil {
		return v, err
	}
	v.Runs = page.Runs
	for i := range v.Runs {
		inZone(&v.Runs[i], v.Location)
	}
	last, err := scheduler.ListRuns(ctx, s.opts.Pool, scheduler.RunFilter{Job: j.Name, Status: "succeeded", Limit: 1})
	if err != nil {
		return v, err
	}
	if len(last.Runs) > 0 {
		v.LastSuccess = &last.Runs[0]
		inZone(v.LastSuccess, v.Location)
	}
	if !full {
		return v, nil
	}
	buckets, err := scheduler.RunDurations(ctx, s.opts.Pool, j.Name, now.Add(-chartWindow), now, chartBuckets)
	if err != nil {
		return v, err
	}
	v.Chart, v.ChartRuns, v.ChartFailed = durationChart(buckets, v.Location)
	return v, nil
}

// inZone puts a run's times in loc, for display.
func inZone(r *scheduler.Run, loc *time.Location) {
	for _, t := range []*time.Time{&r.ScheduledAt, &r.StartedAt, &r.FinishedAt} {
		if !t.IsZero() {
			*t = t.In(loc)
		}
	}
}

// durationChart draws each bucket's longest run; a bucket with a failed run is red.
func durationChart(buckets []scheduler.DurationBucket, loc *time.Location) (chart.BarsLayout, int, int) {
	b := chart.Bars{Width: 760, Height: 150, Format: chart.Seconds}
	runs, failed := 0, 0
	for i, k := range buckets {
		b.Values = append(b.Values, k.Max.Seconds())
		class := "bar"
		if k.Failed > 0 {
			class = "bar failed"
		}
		b.Classes = append(b.Classes, class)
		start := k.Start.In(loc)
		b.Titles = append(b.Titles, fmt.Sprintf("%s–%s: %d runs, %d failed, longest %s, mean %s",
			start.Format("15:04"), k.End.In(loc).Format("15:04"), k.Runs, k.Failed, k.Max.Round(time.Millisecond), k.Mean.Round(time.Millisecond)))
		label := ""
		if i%16 == 0 {
			label = start.Format("15:04")
		}
		b.Labels = append(b.Labels, label)
		runs, failed = runs+k.Runs, failed+k.Failed
	}
	return b.Layout(), runs, failed
}

func (s *Server) jobsPage(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	if msg := newParams(r.URL.Query()).err(); msg != "" {
		s.errorPage(w, r, http.StatusBadRequest, msg)
		return
	}
	var jobs []jobView
	for _, j := range s.opts.Jobs {
		v, err := s.job(r.Context(), j, now, true)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		jobs = append(jobs, v)
	}
	s.render(w, r, "jobs", "Jobs", jobs)
}

// runsQuery reads a listing's filter from the query: job, status, trigger, since, until (RFC
// 3339), limit and cursor.
func runsQuery(q url.Values) (scheduler.RunFilter, string) {
	p := newParams(q)
	f := scheduler.RunFilter{
		Job:     p.get("job"),
		Status:  p.oneOf("status", scheduler.RunStatuses),
		Trigger: p.oneOf("trigger", scheduler.RunTriggers),
		Since:   p.instant("since", time.Time{}),
		Until:   p.instant("until", time.Time{}),
		Limit:   p.intIn("limit", scheduler.DefaultRunsLimit, 1, scheduler.MaxRunsLimit),
	}
	c, err := scheduler.ParseRunCursor(p.get("cursor"))
	if err != nil {
		p.fail("cursor: %v", err)
	}
	f.After = c
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		p.fail("since must be before until")
	}
	return f, p.err()
}

// runsView is the Runs page.
type runsView struct {
	Filter   scheduler.RunFilter
	Jobs     []string
	Statuses []string
	Triggers []string
	Runs     []scheduler.Run
	Next     string // the next page's URL; "" on the last
}

func (s *Server) runsPage(w http.ResponseWriter, r *http.Request) {
	f, msg := runsQuery(r.URL.Query())
	if msg != "" {
		s.errorPage(w, r, http.StatusBadRequest, msg)
		return
	}
	page, err := scheduler.ListRuns(r.Context(), s.opts.Pool, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := runsView{Filter: f, Statuses: scheduler.RunStatuses, Triggers: scheduler.RunTriggers, Runs: page.Runs}
	for _, j := range s.opts.Jobs {
		v.Jobs = append(v.Jobs, j.Name)
	}
	if !page.Next.IsZero() {
		q := r.URL.Query()
		q.Set("cursor", page.Next.String())
		v.Next = "/ui/runs?" + q.Encode()
	}
	s.render(w, r, "runs", "Runs", v)
}

// runJSON is a run as `opsworker run` prints it, plus its trigger.
type runJSON struct {
	RunID           int64             `json:"run_id"`
	Job             string            `json:"job"`
	Status          string            `json:"status"`
	Trigger         *string           `json:"trigger"`
	Error           *string           `json:"error"`
	ScheduledAt     *time.Time        `json:"scheduled_at"`
	StartedAt       time.Time         `json:"started_at"`
	FinishedAt      *time.Time        `json:"finished_at"`
	DurationSeconds *float64          `json:"duration_seconds"`
	Summary         scheduler.Summary `json:"summary"`
}

func toRunJSON(r scheduler.Run) runJSON {
	out := runJSON{RunID: r.ID, Job: r.Job, Status: r.Status, StartedAt: r.StartedAt, Summary: r.Summary}
	if r.Trigger != "" {
		out.Trigger = &r.Trigger
	}
	if r.Error != "" {
		out.Error = &r.Error
	}
	if !r.ScheduledAt.IsZero() {
		out.ScheduledAt = &r.ScheduledAt
	}
	if !r.FinishedAt.IsZero() {
		out.FinishedAt = &r.FinishedAt
		d := r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).Seconds()
		out.DurationSeconds = &d
	}
	return out
}

func toRunsJSON(runs []scheduler.Run) []runJSON {
	out := make([]runJSON, len(runs))
	for i, r := range runs {
		out[i] = toRunJSON(r)
	}
	return out
}

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	f, msg := runsQuery(r.URL.Query())
	if msg != "" {
		writeJSONError(w, http.StatusBadRequest, msg)
		return
	}
	page, err := scheduler.ListRuns(r.Context(), s.opts.Pool, f)
	if errors.Is(err, scheduler.ErrBadFilter) {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := struct {
		Runs       []runJSON `json:"runs"`
		NextCursor *string   `json:"next_cursor"`
	}{Runs: toRunsJSON(page.Runs)}
	if !page.Next.IsZero() {
		c := page.Next.String()
		out.NextCursor = &c
	}
	writeJSON(w, out)
}

func (s *Server) apiJobs(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	if msg := newParams(r.URL.Query()).err(); msg != "" {
		writeJSONError(w, http.StatusBadRequest, msg)
		return
	}
	type jobJSON struct {
		Name        string      `json:"name"`
		Variable    string      `json:"variable"`
		Enabled     bool        `json:"enabled"`
		Spec        *string     `json:"spec"`
		Zone        *string     `json:"zone"`
		Next        []time.Time `json:"next"`
		DSTNotes    []string    `json:"dst_notes"`
		LastRun     *runJSON    `json:"last_run"`
		LastSuccess *runJSON    `json:"last_success"`
	}
	out := struct {
		Jobs []jobJSON `json:"jobs"`
	}{Jobs: []jobJSON{}}
	for _, j := range s.opts.Jobs {
		v, err := s.job(r.Context(), j, now, false)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		jj := jobJSON{Name: v.Name, Variable: v.Variable, Enabled: !v.Off, Next: v.Next, DSTNotes: v.DSTNotes}
		if jj.Next == nil {
			jj.Next = []time.Time{}
		}
		if jj.DSTNotes == nil {
			jj.DSTNotes = []string{}
		}
		if !v.Off {
			zone := v.Location.String()
			jj.Spec, jj.Zone = &v.Spec, &zone
		}
		if len(v.Runs) > 0 {
			rj := toRunJSON(v.Runs[0])
			jj.LastRun = &rj
		}
		if v.LastSuccess != nil {
			rj := toRunJSON(*v.LastSuccess)
			jj.LastSuccess = &rj
		}
		out.Jobs = append(out.Jobs, jj)
	}
	writeJSON(w, out)
}
