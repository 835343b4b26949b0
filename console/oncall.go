package console

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/console/chart"
	"github.com/opsworker/opsworker/oncall"
)

// The On-call page shows at most this many schedules (one tenant's, or every tenant's), each
// with a timeline of this many local days from today's midnight.
const (
	schedulesShown = 50
	timelineDays   = 7
	// maxWindow bounds an API request's shifts, as `opsworker oncall --until` does.
	maxWindow = 366 * 24 * time.Hour
)

// palette is how many responder colours the style sheet has (classes p0 to p7).
const palette = 8

// scheduleView is one schedule on the On-call page.
type scheduleView struct {
	scheduleRow
	Error    string // the schedule's data is invalid: nothing else is shown
	Problems []string
	OnCall   *oncall.Responder // now; nil: nobody (a gap)
	Until    time.Time         // when the current shift (or gap) ends, within the timeline
	From, To time.Time         // the timeline's window
	Timeline chart.TimelineLayout
	Gaps     []oncall.Shift // in the window
}

// oncallView is the On-call page.
type oncallView struct {
	Tenants   []tenant
	Tenant    string
	Schedules []scheduleView
	Limit     int
}

func (s *Server) oncallPage(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	p := newParams(r.URL.Query())
	tenantID := p.get("tenant")
	if msg := p.err(); msg != "" {
		s.errorPage(w, r, http.StatusBadRequest, msg)
		return
	}
	tenants, ok := s.pageTenants(w, r, tenantID)
	if !ok {
		return
	}
	rows, err := s.st.schedules(r.Context(), tenantID, schedulesShown)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := make([]int64, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
	}
	// Every window starts at a local midnight of today, at most a day and a few hours before
	// now; overrides that ended before that cannot show.
	loaded, bad, err := oncall.LoadMany(r.Context(), s.opts.Pool, ids, now.Add(-48*time.Hour))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := oncallView{Tenants: tenants, Tenant: tenantID, Limit: schedulesShown}
	loc := pageZone(tenantZone(tenants, tenantID), tenantZones(tenants))
	for _, row := range rows {
		sv := scheduleView{scheduleRow: row}
		if err := bad[row.ID]; err != nil {
			sv.Error = err.Error()
		} else {
			sv = scheduleTimeline(row, loaded[row.ID], now, loc)
		}
		v.Schedules = append(v.Schedules, sv)
	}
	s.render(w, r, "oncall", "On-call", loc, v)
}

// scheduleTimeline computes a schedule's view at now, in the page's zone loc: who is on call,
// and a timeline of the days from today's midnight with a lane per layer (highest priority
// first), one for the overrides and one for the final result, where gaps are red.
func scheduleTimeline(row scheduleRow, sched *oncall.Schedule, now time.Time, loc *time.Location) scheduleView {
	y, m, d := now.In(loc).Date()
	from := civil.Date(y, m, d, 0, 0, 0, 0, loc)
	to := civil.Date(y, m, d+timelineDays, 0, 0, 0, 0, loc)
	v := scheduleView{scheduleRow: row, Problems: sched.Problems, From: from, To: to}
	if r, ok := sched.OnCall(now); ok {
		v.OnCall = &r
	}

	// Colours follow the responders' ids, so a person keeps theirs across lanes.
	ids := slices.Sorted(func(yield func(int64) bool) {
		for id := range sched.Responders {
			if !yield(id) {
				return
			}
		}
	})
	colour := func(id int64) string { return fmt.Sprintf("p%d", slices.Index(ids, id)%palette) }
	name := func(id int64) string {
		if r, ok := sched.Responders[id]; ok {
			return r.Name
		}
		return fmt.Sprintf("#%d", id)
	}
	spans := func(shifts []oncall.Shift, gapClass, gapLabel string) []chart.Span {
		out := make([]chart.Span, 0, len(shifts))
		for _, sh := range shifts {
			span := chart.Span{Start: sh.Start, End: sh.End}
			when := sh.Start.In(loc).Format("Mon 15:04") + " – " + sh.End.In(loc).Format("Mon 15:04 MST")
			if sh.Responder == nil {
				span.Class, span.Label, span.Title = gapClass, gapLabel, "nobody: "+when
			} else {
				span.Class, span.Label, span.Title = colour(sh.Responder.ID), sh.Responder.Name, sh.Responder.Name+": "+when
			}
			out = append(out, span)
		}
		return out
	}

	tl := chart.Timeline{From: from, To: to, Width: 1200, RowHeight: 22, Now: now}
	for i := range timelineDays + 1 {
		day := civil.Date(y, m, d+i, 0, 0, 0, 0, loc)
		tl.Ticks = append(tl.Ticks, chart.Tick{At: day, Label: day.Format("Mon 01-02")})
	}
	layers := slices.Clone(sched.Layers)
	slices.SortStableFunc(layers, func(a, b oncall.Layer) int { return b.Priority - a.Priority })
	for _, l := range layers {
		alone := &oncall.Schedule{ID: sched.ID, Location: sched.Location, Layers: []oncall.Layer{l}, Responders: sched.Responders}
		label := fmt.Sprintf("Layer %d", l.Priority)
		if l.Name != "" {
			label += ": " + l.Name
		}
		tl.Lanes = append(tl.Lanes, chart.Lane{Label: label, Class: "layer", Rows: [][]chart.Span{spans(alone.Shifts(from, to), "none", "")}})
	}
	var overrides []chart.Span
	for _, o := range sched.Overrides {
		if !o.End.After(from) || !o.Start.Before(to) {
			continue
		}
		label := name(o.ResponderID)
		if o.ReplacesResponderID != 0 {
			label += " for " + name(o.ReplacesResponderID)
		}
		overrides = append(overrides, chart.Span{Start: o.Start, End: o.End, Label: label, Class: colour(o.ResponderID) + " override",
			Title: "override: " + label + ", " + o.Start.In(loc).Format("Mon 15:04") + " – " + o.End.In(loc).Format("Mon 15:04 MST")})
	}
	tl.Lanes = append(tl.Lanes, chart.Lane{Label: "Overrides", Class: "overrides", Rows: chart.Stack(overrides)})
	final := sched.Shifts(from, to)
	tl.Lanes = append(tl.Lanes, chart.Lane{Label: "On call", Class: "final", Rows: [][]chart.Span{spans(final, "gap", "gap")}})
	v.Timeline = tl.Layout()
	for _, sh := range final {
		if sh.Responder == nil {
			v.Gaps = append(v.Gaps, sh)
		}
		if !now.Before(sh.Start) && now.Before(sh.End) {
			v.Until = sh.End
		}
	}
	return v
}

func (s *Server) apiSchedules(w http.ResponseWriter, r *http.Request) {
	p := newParams(r.URL.Query())
	tenantID := p.get("tenant")
	limit := p.intIn("limit", 100, 1, 1000)
	if msg := p.err(); msg != "" {
		writeJSONError(w, http.StatusBadRequest, msg)
		return
	}
	if !s.apiTenant(w, r, tenantID) {
		return
	}
	rows, err := s.st.schedules(r.Context(), tenantID, limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeList(w, "schedules", rows)
}

// apiOncall answers who is on call at `at` (default now), or the shifts from `at` to `until`:
// the shapes `opsworker oncall --json` prints.
func (s *Server) apiOncall(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		writeJSONError(w, http.StatusBadRequest, "schedule id "+r.PathValue("id")+" is not a positive whole number")
		return
	}
	p := newParams(r.URL.Query())
	at := p.instant("at", s.now())
	until := p.instant("until", time.Time{})
	if msg := p.err(); msg != "" {
		writeJSONError(w, http.StatusBadRequest, msg)
		return
	}
	if !until.IsZero() && (!until.After(at) || until.Sub(at) > maxWindow) {
		writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("until must be after at and at most %d days later", int(maxWindow.Hours()/24)))
		return
	}
	sched, err := oncall.Load(r.Context(), s.opts.Pool, id, at)
	switch {
	case errors.Is(err, oncall.ErrNotFound):
		writeJSONError(w, http.StatusNotFound, fmt.Sprintf("there is no schedule %d", id))
		return
	case errors.Is(err, oncall.ErrInvalid):
		writeJSONError(w, http.StatusUnprocessableEntity, err.Error())
		return
	case err != nil:
		s.apiFail(w, r, err)
		return
	}
	if until.IsZero() {
		writeJSON(w, sched.AnswerAt(at))
		return
	}
	writeJSON(w, sched.AnswerShifts(at, until))
}
