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

// job reads what the Jobs page shows of j at now, its chart in zone loc; with full false only its
// last run and last success (the API's answer).
func (s *Server) job(ctx context.Context, j Job, now time.Time, full bool, loc *time.Location) (jobView, error) {
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
	last, err := scheduler.ListRuns(ctx, s.opts.Pool, scheduler.RunFilter{Job: j.Name, Status: "succeeded", Limit: 1})
	if err != nil {
		return v, err
	}
	if len(last.Runs) > 0 {
		v.LastSuccess = &last.Runs[0]
	}
	if !full {
		return v, nil
	}
	buckets, err := scheduler.RunDurations(ctx, s.opts.Pool, j.Name, now.Add(-chartWindow), now, chartBuckets)
	if err != nil {
		return v, err
	}
	v.Chart, v.ChartRuns, v.ChartFailed = durationChart(buckets, loc)
	return v, nil
}

// durationChart draws each bucket's longest run; a bucket with a failed run is red.
func durationChart(buckets []scheduler.DurationBucket, loc *time.Location) (chart.BarsLayout, int, int) {
	b := chart.Bars{Width: 1160, Height: 150, Durations: true}
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
	loc, err := s.workerZone(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var jobs []jobView
	for _, j := range s.opts.Jobs {
		v, err := s.job(r.Context(), j, now, true, loc)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		jobs = append(jobs, v)
	}
	s.render(w, r, "jobs", "Jobs", loc, jobs)
}

// workerZone is the zone of the pages about the worker itself (jobs, runs): the zone its
// tenants share, else UTC.
func (s *Server) workerZone(ctx context.Context) (*time.Location, error) {
	tenants, err := s.st.tenants(ctx)
	if err != nil {
		return nil, err
	}
	return pageZone("", tenantZones(tenants)), nil
}

// jobNames are the configured jobs' names, for a filter's check.
func (s *Server) jobNames() []string {
	names := make([]string, len(s.opts.Jobs))
	for i, j := range s.opts.Jobs {
		names[i] = j.Name
	}
	return names
}

// runsQuery reads a listing's filter from the query: job (one of jobs), status, trigger, since,
// until (RFC 3339), limit and cursor.
func runsQuery(q url.Values, jobs []string) (scheduler.RunFilter, string) {
	p := newParams(q)
	f := scheduler.RunFilter{
		Job:     p.oneOf("job", jobs),
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
	f, msg := runsQuery(r.URL.Query(), s.jobNames())
	if msg != "" {
		s.errorPage(w, r, http.StatusBadRequest, msg)
		return
	}
	page, err := scheduler.ListRuns(r.Context(), s.opts.Pool, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc, err := s.workerZone(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := runsView{Filter: f, Jobs: s.jobNames(), Statuses: scheduler.RunStatuses, Triggers: scheduler.RunTriggers, Runs: page.Runs}
	if !page.Next.IsZero() {
		q := r.URL.Query()
		q.Set("cursor", page.Next.String())
		v.Next = "/ui/runs?" + q.Encode()
	}
	s.render(w, r, "runs", "Runs", loc, v)
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
	// SummaryText says the summary as the console's pages do: "3 pages for 2 alerts, 2
	// deliveries queued"; "nothing to do" for an idle run, "" without a summary.
	SummaryText string `json:"summary_text"`
}

func toRunJSON(r scheduler.Run) runJSON {
	out := runJSON{RunID: r.ID, Job: r.Job, Status: r.Status, StartedAt: r.StartedAt, Summary: r.Summary, SummaryText: runSummary(r)}
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
	f, msg := runsQuery(r.URL.Query(), s.jobNames())
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
		v, err := s.job(r.Context(), j, now, false, time.UTC)
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
