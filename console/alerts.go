package console

import (
	"errors"
	"net/http"
	"time"

	"github.com/opsworker/opsworker/civil"
)

// alertsShown is how many alerts the Alerts page lists, newest first.
const alertsShown = 100

// alertsView is the Alerts page.
type alertsView struct {
	Tenants        []tenant
	Tenant, Status string
	Statuses       []string
	Alerts         []alertRow
	Limit          int
}

func (s *Server) alertsPage(w http.ResponseWriter, r *http.Request) {
	p := newParams(r.URL.Query())
	tenantID, status := p.get("tenant"), p.oneOf("status", alertStatuses)
	if msg := p.err(); msg != "" {
		s.errorPage(w, r, http.StatusBadRequest, msg)
		return
	}
	tenants, err := s.st.tenants(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	alerts, err := s.st.alerts(r.Context(), tenantID, status, alertsShown)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	localise(alerts)
	s.render(w, r, "alerts", "Alerts", alertsView{Tenants: tenants, Tenant: tenantID, Status: status,
		Statuses: alertStatuses, Alerts: alerts, Limit: alertsShown})
}

// localise puts each alert's times in its tenant's zone, for display.
func localise(alerts []alertRow) {
	for i := range alerts {
		localiseAlert(&alerts[i])
	}
}

func localiseAlert(a *alertRow) {
	loc, err := civil.LoadLocation(a.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	a.CreatedAt = a.CreatedAt.In(loc)
	for _, p := range []*time.Time{a.AcknowledgedAt, a.ResolvedAt, a.LastEscalatedAt, a.NextEscalationAt} {
		if p != nil {
			*p = p.In(loc)
		}
	}
}

// localiseTimeline puts every time of an alert's timeline in its tenant's zone, for display.
func localiseTimeline(tl *timeline) {
	localiseAlert(&tl.Alert)
	loc := tl.Alert.CreatedAt.Location()
	in := func(ts ...*time.Time) {
		for _, t := range ts {
			if t != nil {
				*t = t.In(loc)
			}
		}
	}
	for i := range tl.Events {
		in(&tl.Events[i].At)
	}
	for i := range tl.Pages {
		p := &tl.Pages[i]
		in(&p.CreatedAt, p.SentAt)
		for j := range p.Deliveries {
			d := &p.Deliveries[j]
			in(&d.CreatedAt, d.SentAt, d.FinishedAt)
			if d.Job != nil {
				for k := range d.Job.Errors {
					in(&d.Job.Errors[k].At)
				}
			}
		}
	}
}

// alertView is one alert's page.
type alertView struct {
	timeline
	Location *time.Location
}

func (s *Server) alertPage(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r.PathValue("id"))
	if !ok || newParams(r.URL.Query()).err() != "" {
		s.errorPage(w, r, http.StatusBadRequest, "an alert is named by its id, a positive whole number, and takes no parameters")
		return
	}
	tl, err := s.st.timeline(r.Context(), id, s.now())
	if errors.Is(err, errNotFound) {
		s.errorPage(w, r, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	localiseTimeline(&tl)
	s.render(w, r, "alert", "Alert "+r.PathValue("id"), alertView{timeline: tl, Location: tl.Alert.CreatedAt.Location()})
}

func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request) {
	p := newParams(r.URL.Query())
	tenantID, status := p.get("tenant"), p.oneOf("status", alertStatuses)
	limit := p.intIn("limit", alertsShown, 1, 1000)
	if msg := p.err(); msg != "" {
		writeJSONError(w, http.StatusBadRequest, msg)
		return
	}
	alerts, err := s.st.alerts(r.Context(), tenantID, status, limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeList(w, "alerts", alerts)
}

func (s *Server) apiTimeline(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		writeJSONError(w, http.StatusBadRequest, "alert id "+r.PathValue("id")+" is not a positive whole number")
		return
	}
	if msg := newParams(r.URL.Query()).err(); msg != "" {
		writeJSONError(w, http.StatusBadRequest, msg)
		return
	}
	tl, err := s.st.timeline(r.Context(), id, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if tl.Events == nil {
		tl.Events = []eventRow{}
	}
	if tl.Pages == nil {
		tl.Pages = []pageRow{}
	}
	writeJSON(w, tl)
}
