package console

import (
	"errors"
	"net/http"
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
	tenants, ok := s.pageTenants(w, r, tenantID)
	if !ok {
		return
	}
	alerts, err := s.st.alerts(r.Context(), tenantID, status, alertsShown)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := pageZone(tenantZone(tenants, tenantID), tenantZones(tenants))
	s.render(w, r, "alerts", "Alerts", loc, alertsView{Tenants: tenants, Tenant: tenantID, Status: status,
		Statuses: alertStatuses, Alerts: alerts, Limit: alertsShown})
}

// alertView is one alert's page: its timeline, each event said in English.
type alertView struct {
	timeline
	Said    []phrase // Said[i] says Events[i]
	Through []phrase // Through[i] says which schedule Pages[i] went through (empty: none)
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
	loc := pageZone(tl.Alert.TimeZone, nil)
	d := newDescriber(&tl, loc)
	v := alertView{timeline: tl}
	for _, e := range tl.Events {
		v.Said = append(v.Said, d.describe(e))
	}
	for _, p := range tl.Pages {
		var ph phrase
		if p.ScheduleID != nil {
			ph.text("on call for ")
			d.schedule(&ph, *p.ScheduleID)
		}
		v.Through = append(v.Through, ph)
	}
	s.render(w, r, "alert", "Alert "+r.PathValue("id"), loc, v)
}

func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request) {
	p := newParams(r.URL.Query())
	tenantID, status := p.get("tenant"), p.oneOf("status", alertStatuses)
	limit := p.intIn("limit", alertsShown, 1, 1000)
	if msg := p.err(); msg != "" {
		writeJSONError(w, http.StatusBadRequest, msg)
		return
	}
	if !s.apiTenant(w, r, tenantID) {
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
