package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/console/chart"
	"github.com/opsworker/opsworker/tasks/report"
)

// Listing bounds: the Reports page and /api/v1/reports list at most this many reports, over at
// most a year of dates (the last 31 days by default).
const (
	reportsShown    = 500
	reportsMaxRange = 366
	reportsDefault  = 31
)

// reportsView is the Reports page.
type reportsView struct {
	Tenants  []tenant
	Tenant   string
	From, To string
	Reports  []reportRow
	Limit    int
}

// reportsQuery reads a listing's tenant and date range.
func (s *Server) reportsQuery(p *params) (tenantID string, from, to time.Time) {
	today := s.now().UTC().Truncate(24 * time.Hour)
	tenantID = p.get("tenant")
	to = p.date("to", today)
	from = p.date("from", to.AddDate(0, 0, 1-reportsDefault))
	if from.After(to) || to.Sub(from) > reportsMaxRange*24*time.Hour {
		p.fail("from must not be after to, and at most %d days before it", reportsMaxRange)
	}
	return tenantID, from, to
}

func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request) {
	p := newParams(r.URL.Query())
	tenantID, from, to := s.reportsQuery(p)
	if msg := p.err(); msg != "" {
		s.errorPage(w, r, http.StatusBadRequest, msg)
		return
	}
	tenants, err := s.st.tenants(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := s.st.reports(r.Context(), tenantID, from, to, reportsShown)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "reports", "Reports", reportsView{Tenants: tenants, Tenant: tenantID,
		From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Reports: rows, Limit: reportsShown})
}

func (s *Server) apiReports(w http.ResponseWriter, r *http.Request) {
	p := newParams(r.URL.Query())
	tenantID, from, to := s.reportsQuery(p)
	limit := p.intIn("limit", reportsShown, 1, 5000)
	if msg := p.err(); msg != "" {
		writeJSONError(w, http.StatusBadRequest, msg)
		return
	}
	rows, err := s.st.reports(r.Context(), tenantID, from, to, limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeList(w, "reports", rows)
}

// hourCount is the number of alerts created in one hour of a report's period.
type hourCount struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Alerts int64     `json:"alerts"`
}

// reportDetail is one report with its hourly alert counts.
type reportDetail struct {
	storedReport
	Location *time.Location
	Body     report.Body
	Hours    []hourCount
}

// reportDetail reads tenant's report of date and counts its period's alerts by hour: stored
// bodies carry no per-hour counts, so they are counted from the alerts (one index range scan).
// The hours start at the period's start; the last may be shorter.
func (s *Server) reportDetail(ctx context.Context, tenantID, date string) (reportDetail, error) {
	d, err := parseDate(date)
	if err != nil {
		return reportDetail{}, fmt.Errorf("date %q: %w", date, err)
	}
	stored, err := s.st.report(ctx, tenantID, d)
	if err != nil {
		return reportDetail{}, err
	}
	out := reportDetail{storedReport: stored, Location: time.UTC}
	if loc, err := civil.LoadLocation(stored.TimeZone); err == nil {
		out.Location = loc
	}
	if err := json.Unmarshal(stored.Body, &out.Body); err != nil {
		return reportDetail{}, fmt.Errorf("report of %s for %s: body: %w", tenantID, date, err)
	}
	var starts []time.Time
	for t := stored.PeriodStart; t.Before(stored.PeriodEnd); t = t.Add(time.Hour) {
		starts = append(starts, t)
	}
	counts, err := s.st.alertsPerBucket(ctx, tenantID, starts, stored.PeriodEnd)
	if err != nil {
		return reportDetail{}, err
	}
	for i, t := range starts {
		end := stored.PeriodEnd
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		out.Hours = append(out.Hours, hourCount{Start: t.In(out.Location), End: end.In(out.Location), Alerts: counts[i]})
	}
	return out, nil
}

// reportView is one report's page.
type reportView struct {
	reportDetail
	HourChart  chart.BarsLayout
	PagesChart chart.BarsLayout
}

func (s *Server) reportPage(w http.ResponseWriter, r *http.Request) {
	if msg := newParams(r.URL.Query()).err(); msg != "" {
		s.errorPage(w, r, http.StatusBadRequest, msg)
		return
	}
	if _, err := parseDate(r.PathValue("date")); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, fmt.Sprintf("date %q: %v", r.PathValue("date"), err))
		return
	}
	rd, err := s.reportDetail(r.Context(), r.PathValue("tenant"), r.PathValue("date"))
	if err != nil {
		if isNotFound(err) {
			s.errorPage(w, r, http.StatusNotFound, err.Error())
			return
		}
		s.fail(w, r, err)
		return
	}
	v := reportView{reportDetail: rd}
	hours := chart.Bars{Width: 760, Height: 170}
	for i, h := range rd.Hours {
		hours.Values = append(hours.Values, float64(h.Alerts))
		hours.Titles = append(hours.Titles, fmt.Sprintf("%s–%s: %d alerts", h.Start.Format("15:04"), h.End.Format("15:04 MST"), h.Alerts))
		label := ""
		if i%3 == 0 {
			label = h.Start.Format("15h")
		}
		hours.Labels = append(hours.Labels, label)
	}
	v.HourChart = hours.Layout()
	pg := rd.Body.Pages
	v.PagesChart = chart.Bars{Width: 360, Height: 170,
		Values:  []float64{float64(pg.BusinessHours), float64(pg.OffHours), float64(pg.SleepHours)},
		Labels:  []string{"business", "off", "sleep"},
		Classes: []string{"bar business", "bar off", "bar sleep"},
		Titles: []string{fmt.Sprintf("business hours (Mon–Fri 08–18): %d pages", pg.BusinessHours),
			fmt.Sprintf("off hours: %d pages", pg.OffHours), fmt.Sprintf("sleep hours (22–08): %d pages", pg.SleepHours)},
	}.Layout()
	s.render(w, r, "report", "Report "+rd.TenantID+" "+rd.Date, v)
}

func (s *Server) apiReport(w http.ResponseWriter, r *http.Request) {
	if msg := newParams(r.URL.Query()).err(); msg != "" {
		writeJSONError(w, http.StatusBadRequest, msg)
		return
	}
	if _, err := parseDate(r.PathValue("date")); err != nil {
		writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("date %q: %v", r.PathValue("date"), err))
		return
	}
	rd, err := s.reportDetail(r.Context(), r.PathValue("tenant"), r.PathValue("date"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, struct {
		reportRow
		Body          json.RawMessage `json:"body"`
		Text          string          `json:"text"`
		AlertsPerHour []hourCount     `json:"alerts_per_hour"`
	}{rd.reportRow, rd.storedReport.Body, rd.Text, rd.Hours})
}
