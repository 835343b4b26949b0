package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/opsworker/opsworker/console/chart"
	"github.com/opsworker/opsworker/tasks/report"
)

// Listing bounds: the Reports page and /api/v1/reports list at most this many reports, over at
// most a year of dates (the last 30 days by default).
const (
	reportsShown    = 500
	reportsMaxRange = 366
	reportsDefault  = 30
)

// reportsView is the Reports page: the listing, and its trend, a bar per date.
type reportsView struct {
	Tenants     []tenant
	Tenant      string
	From, To    string
	Reports     []reportListRow
	Limit       int
	Days        int
	Total       reportNumbers // over the listing
	AlertsChart chart.BarsLayout
	MTTAChart   chart.BarsLayout
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
	tenants, ok := s.pageTenants(w, r, tenantID)
	if !ok {
		return
	}
	rows, err := s.st.reports(r.Context(), tenantID, from, to, reportsShown)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := reportsView{Tenants: tenants, Tenant: tenantID, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		Reports: rows, Limit: reportsShown}
	v.Days, v.Total, v.AlertsChart, v.MTTAChart = trend(rows, from, to)
	loc := pageZone(tenantZone(tenants, tenantID), tenantZones(tenants))
	s.render(w, r, "reports", "Reports", loc, v)
}

// trend sums the listed reports by date from from to to: the number of dates, the totals, and
// two charts with a bar per date, alerts and the mean time to acknowledge (over every tenant
// listed).
func trend(rows []reportListRow, from, to time.Time) (int, reportNumbers, chart.BarsLayout, chart.BarsLayout) {
	byDate := map[string]*reportNumbers{}
	var total reportNumbers
	for _, r := range rows {
		d := byDate[r.Date]
		if d == nil {
			d = &reportNumbers{}
			byDate[r.Date] = d
		}
		d.add(r.reportNumbers)
		total.add(r.reportNumbers)
	}
	alerts := chart.Bars{Width: 600, Height: 170, Counts: true}
	mtta := chart.Bars{Width: 600, Height: 170, Durations: true}
	n := int(to.Sub(from).Hours()/24) + 1
	every := max(1, (n+9)/10)
	bar := func(b *chart.Bars, v float64, class, title string) {
		b.Values, b.Classes, b.Titles = append(b.Values, v), append(b.Classes, class), append(b.Titles, title)
	}
	for i := range n {
		date := from.AddDate(0, 0, i)
		key := date.Format(time.DateOnly)
		label := ""
		if i%every == 0 {
			label = date.Format("01-02")
		}
		alerts.Labels, mtta.Labels = append(alerts.Labels, label), append(mtta.Labels, label)
		d := byDate[key]
		switch {
		case d == nil:
			bar(&alerts, 0, "bar", key+": no report")
			bar(&mtta, 0, "bar", key+": no report")
			continue
		case d.MTTASeconds == nil:
			bar(&mtta, 0, "bar mtta", key+": no alert acknowledged")
		default:
			bar(&mtta, *d.MTTASeconds, "bar mtta", fmt.Sprintf("%s: mean %s over %s", key, seconds(*d.MTTASeconds),
				plural(counter{one: "1 acknowledged alert", many: "%d acknowledged alerts"}, d.Acknowledged)))
		}
		bar(&alerts, float64(d.Alerts), "bar", fmt.Sprintf("%s: %s, %s", key, plural(counter{one: "1 alert", many: "%d alerts"}, d.Alerts),
			plural(counter{one: "1 page", many: "%d pages"}, d.Pages)))
	}
	return n, total, alerts.Layout(), mtta.Layout()
}

// seconds says a number of seconds as a duration rounded to the second.
func seconds(v float64) string {
	return time.Duration(v * float64(time.Second)).Round(time.Second).String()
}

func (s *Server) apiReports(w http.ResponseWriter, r *http.Request) {
	p := newParams(r.URL.Query())
	tenantID, from, to := s.reportsQuery(p)
	limit := p.intIn("limit", reportsShown, 1, 5000)
	if msg := p.err(); msg != "" {
		writeJSONError(w, http.StatusBadRequest, msg)
		return
	}
	if !s.apiTenant(w, r, tenantID) {
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

// reportDetail is one report with its hours: everything from its stored body.
type reportDetail struct {
	storedReport
	Body  report.Body
	Hours []hourCount // nil: the body has no alerts_per_hour (written before it did)
}

// reportDetail reads tenant's report of date; its hours are the body's alerts_per_hour, each
// hour starting at the period's start, the last one cut at its end.
func (s *Server) reportDetail(ctx context.Context, tenantID, date string) (reportDetail, error) {
	d, err := parseDate(date)
	if err != nil {
		return reportDetail{}, fmt.Errorf("date %q: %w", date, err)
	}
	stored, err := s.st.report(ctx, tenantID, d)
	if err != nil {
		return reportDetail{}, err
	}
	out := reportDetail{storedReport: stored}
	if err := json.Unmarshal(stored.Body, &out.Body); err != nil {
		return reportDetail{}, fmt.Errorf("report of %s for %s: body: %w", tenantID, date, err)
	}
	for i, n := range out.Body.AlertsPerHour {
		start := stored.PeriodStart.Add(time.Duration(i) * time.Hour)
		end := start.Add(time.Hour)
		if end.After(stored.PeriodEnd) {
			end = stored.PeriodEnd
		}
		out.Hours = append(out.Hours, hourCount{Start: start, End: end, Alerts: n})
	}
	return out, nil
}

// reportView is one report's page.
type reportView struct {
	reportDetail
	HourChart  *chart.BarsLayout // nil: the report has no hours
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
	loc := loadZone(rd.TimeZone)
	v := reportView{reportDetail: rd}
	if rd.Hours != nil {
		hours := chart.Bars{Width: 760, Height: 170, Counts: true}
		for i, h := range rd.Hours {
			hours.Values = append(hours.Values, float64(h.Alerts))
			hours.Titles = append(hours.Titles, fmt.Sprintf("%s–%s: %s", h.Start.In(loc).Format("15:04"), h.End.In(loc).Format("15:04 MST"),
				plural(counter{one: "1 alert", many: "%d alerts"}, h.Alerts)))
			label := ""
			if i%3 == 0 {
				label = h.Start.In(loc).Format("15h")
			}
			hours.Labels = append(hours.Labels, label)
		}
		l := hours.Layout()
		v.HourChart = &l
	}
	pg := rd.Body.Pages
	v.PagesChart = chart.Bars{Width: 360, Height: 170, Counts: true,
		Values:  []float64{float64(pg.BusinessHours), float64(pg.OffHours), float64(pg.SleepHours)},
		Labels:  []string{"business", "off", "sleep"},
		Classes: []string{"bar business", "bar off", "bar sleep"},
		Titles: []string{fmt.Sprintf("business hours (Mon–Fri 08–18): %d pages", pg.BusinessHours),
			fmt.Sprintf("off hours: %d pages", pg.OffHours), fmt.Sprintf("sleep hours (22–08): %d pages", pg.SleepHours)},
	}.Layout()
	s.render(w, r, "report", "Report "+rd.TenantID+" "+rd.Date, loc, v)
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
