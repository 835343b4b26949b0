package console

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
)

// ScreenshotDirVariable names the directory the browser test keeps its screenshots in; unset, a
// new directory under the system's temporary directory, kept after the test (its path is logged).
const ScreenshotDirVariable = "CONSOLE_SCREENSHOT_DIR"

// chromium finds Debian's chromium. In CI (CI set) its absence fails the test: .ci/run installs
// it. Elsewhere the test is skipped.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium: .ci/run installs Debian's chromium package")
	}
	t.Skip("no chromium on this machine (apt-get install chromium)")
	return ""
}

var (
	shotsOnce sync.Once
	shotsDir  string
	shotsErr  error
)

// screenshotDir returns where screenshots go: one directory for the test process.
func screenshotDir(t *testing.T) string {
	shotsOnce.Do(func() {
		if shotsDir = os.Getenv(ScreenshotDirVariable); shotsDir != "" {
			shotsErr = os.MkdirAll(shotsDir, 0o755)
			return
		}
		shotsDir, shotsErr = os.MkdirTemp("", "opsworker-console-screenshots-")
	})
	if shotsErr != nil {
		t.Fatal(shotsErr)
	}
	t.Logf("screenshots in %s", shotsDir)
	return shotsDir
}

// TestConsoleInChromium drives Debian's chromium through the console on the fixture: without
// credentials it gets 401; signed in, every page shows what the fixture holds, and each is kept
// as a screenshot. The console's pages load their style sheet under its strict
// Content-Security-Policy, and River UI runs under its own without a violation.
func TestConsoleInChromium(t *testing.T) {
	path := chromium(t)
	f := newFixture(t)
	b := newBrowser(t, path, f)
	tab, visit := b.tab, b.visit

	// Without credentials: the console answers 401 with a basic authentication challenge, which
	// headless chromium, having no one to ask, turns into a failed navigation.
	anon, cancelAnon := chromedp.NewContext(b.ctx)
	defer cancelAnon()
	statuses := make(chan *network.EventResponseReceivedExtraInfo, 16)
	extra := chromedp.Events(anon, network.ResponseReceivedExtraInfo)
	go func() {
		for e, err := range extra {
			if err != nil {
				return
			}
			select {
			case statuses <- &e:
			default:
			}
		}
	}()
	_, err := chromedp.Run(anon, chromedp.NavigateResponse(b.base+"/ui/jobs"))
	if err == nil || !strings.Contains(err.Error(), "ERR_INVALID_AUTH_CREDENTIALS") {
		t.Fatalf("without credentials the page loaded: %v", err)
	}
	select {
	case e := <-statuses:
		challenge := ""
		for k, v := range e.Headers {
			if strings.EqualFold(k, "WWW-Authenticate") {
				challenge = fmt.Sprint(v)
			}
		}
		if e.StatusCode != 401 || !strings.HasPrefix(challenge, "Basic realm=") {
			t.Fatalf("without credentials: %d %v", e.StatusCode, e.Headers)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("without credentials: no response seen")
	}

	visit("01-jobs", "/ui/jobs")
	text := eval[string](t, tab, `document.body.innerText`)
	// The fixture's tenants are in two zones: the worker's pages are in UTC, and say so.
	for _, want := range []string{"escalation", "report", "@every 1m", "30 2 * * *", "2027-05-05 10:31:00 UTC", "2027-05-06 00:30:00 UTC",
		"2028-03-26: 02:30 does not exist", "Wed 2027-05-05 10:30 UTC · times in UTC", "in Europe/Berlin"} {
		if !strings.Contains(text, want) {
			t.Errorf("the Jobs page does not show %q", want)
		}
	}
	// Run summaries are sentences: the manual escalation run's counters, the report run's.
	said := eval[[]string](t, tab, `[...document.querySelectorAll('table.runs td.summary')].map(td => td.innerText)`)
	if len(said) < 2 || said[0] != "1 page for 1 alert, 1 delivery queued, 1 alert exhausted its policy" ||
		said[len(said)-1] != "3 reports written (1 of them for an earlier day)" {
		t.Errorf("run summaries %q", said)
	}
	for _, s := range said {
		if strings.ContainsAny(s, "{}\":_") {
			t.Errorf("a run summary reads as data: %q", s)
		}
	}
	if n := eval[int](t, tab, `document.querySelectorAll('#job-escalation .duration-chart rect.bar').length`); n != chartBuckets {
		t.Errorf("escalation's duration chart has %d bars, want %d", n, chartBuckets)
	}
	if n := eval[int](t, tab, `document.querySelectorAll('#job-escalation .duration-chart rect.bar.failed').length`); n < 5 {
		t.Errorf("escalation's duration chart shows %d buckets with a failure, want the fixture's", n)
	}
	if n := eval[int](t, tab, `document.querySelectorAll('#job-escalation table.runs tbody tr').length`); n != jobPageRuns {
		t.Errorf("escalation's last runs: %d rows", n)
	}

	visit("02-runs-failed", "/ui/runs?job=escalation&status=failed")
	if n := eval[int](t, tab, `document.querySelectorAll('table.runs tbody tr.failed').length`); n < 5 {
		t.Errorf("failed runs listed: %d", n)
	}

	visit("03-oncall", "/ui/oncall?tenant=acme")
	if clock := eval[string](t, tab, `document.querySelector('header .clock').innerText`); clock != "Wed 2027-05-05 12:30 CEST · times in Europe/Berlin" {
		t.Errorf("the On-call page's clock says %q, want the tenant's zone", clock)
	}
	lanes := eval[[]string](t, tab, fmt.Sprintf(`[...document.querySelectorAll('#schedule-%d svg.timeline g.lane')].map(g => [...g.querySelectorAll('text.lane-label')].map(x => x.textContent).join(' '))`, f.sched))
	if strings.Join(lanes, "|") != "Layer 2: Office hours|Layer 1: Daily|Overrides|On call" {
		t.Errorf("lane labels %q", lanes)
	}
	// The timeline takes the card's whole width.
	if r := eval[float64](t, tab, fmt.Sprintf(`document.querySelector('#schedule-%[1]d svg.timeline').getBoundingClientRect().width / document.querySelector('#schedule-%[1]d figure').getBoundingClientRect().width`, f.sched)); r < 0.99 {
		t.Errorf("the timeline takes %.0f%% of its card's width", 100*r)
	}
	if who := eval[string](t, tab, fmt.Sprintf(`document.querySelector('#schedule-%d .now-on-call .who').innerText`, f.sched)); who != "Cleo" {
		t.Errorf("on call now: %q, want Cleo", who)
	}
	gaps := eval[int](t, tab, fmt.Sprintf(`document.querySelectorAll('#schedule-%d svg.timeline rect.span.gap').length`, f.sched))
	fill := eval[string](t, tab, fmt.Sprintf(`getComputedStyle(document.querySelector('#schedule-%d svg.timeline rect.span.gap')).fill`, f.sched))
	if gaps < 3 || fill != "rgb(214, 39, 40)" {
		t.Errorf("gaps on the timeline: %d drawn in %q; want the fixture's three, in red", gaps, fill)
	}
	if n := eval[int](t, tab, fmt.Sprintf(`document.querySelectorAll('#schedule-%d svg.timeline g.lane').length`, f.sched)); n != 4 {
		t.Errorf("%d lanes, want 2 layers, the overrides and the final result", n)
	}
	if n := eval[int](t, tab, fmt.Sprintf(`document.querySelectorAll('#schedule-%d svg.timeline rect.override').length`, f.sched)); n != 1 {
		t.Errorf("%d overrides drawn, want Anna's", n)
	}

	visit("04-alerts", "/ui/alerts?tenant=acme")
	if n := eval[int](t, tab, `document.querySelectorAll('table.alerts tbody tr').length`); n != len(f.alerts) {
		t.Errorf("%d alerts listed, want %d", n, len(f.alerts))
	}
	visit("05-alert", fmt.Sprintf("/ui/alerts/%d", f.alerts[0]))
	text = eval[string](t, tab, `document.body.innerText`)
	for _, want := range []string{"disk 95% full", "escalated", "policy_exhausted", "Anna", "HTTP 503 Service Unavailable", "attempt 2 of 10",
		// The events in English, times in the tenant's zone, the policy's steps.
		"Wed 2027-05-05 12:30 CEST · times in Europe/Berlin", "2027-05-04 02:10:00 CEST",
		"Paged Anna (on call for Primary) — step 1 of Primary, then Ben; next escalation in 5 minutes, at 02:15.",
		"Paged Ben — step 2 of Primary, then Ben; next escalation in 10 minutes, at 09:25.",
		"Every step of Primary, then Ben was paged and nobody acknowledged: no more pages.",
		"Step 1, on call for Primary; paged 2027-05-04 02:10:00 CEST", "Page whoever is on call for Primary, then wait 5 minutes."} {
		if !strings.Contains(text, want) {
			t.Errorf("the alert's page does not show %q", want)
		}
	}
	for _, raw := range []string{"policy_id", "responder_ids", "UTC"} {
		if strings.Contains(text, raw) {
			t.Errorf("the alert's page shows %q", raw)
		}
	}
	links := eval[[]string](t, tab, `[...document.querySelectorAll('td.said a')].map(a => a.innerText + '→' + a.getAttribute('href'))`)
	if len(links) < 3 || !strings.HasPrefix(links[0], "Anna→#page-") || links[1] != fmt.Sprintf("Primary→/ui/oncall?tenant=acme#schedule-%d", f.sched) || links[2] != "Primary, then Ben→#policy" {
		t.Errorf("event links %q", links)
	}
	if n := eval[int](t, tab, `document.querySelectorAll('#'+document.querySelector('td.said a').getAttribute('href').slice(1)).length`); n != 1 {
		t.Errorf("the responder's link leads to %d pages", n)
	}
	if n := eval[int](t, tab, `document.querySelectorAll('table.deliveries tr.delivery.sent').length`); n != 1 {
		t.Errorf("%d sent deliveries shown, want 1", n)
	}

	visit("06-reports", "/ui/reports?tenant=acme&from=2027-05-01&to=2027-05-05")
	if n := eval[int](t, tab, `document.querySelectorAll('table.reports tbody tr').length`); n != 2 {
		t.Errorf("%d reports listed, want Monday's and Tuesday's", n)
	}
	// Each day's key numbers: alerts, MTTA, MTTR, pages, unreached.
	if row := eval[[]string](t, tab, `[...document.querySelectorAll('table.reports tbody tr')[0].cells].map(c => c.innerText)`); strings.Join(row, "|") != "2027-05-04|acme|7|3m0s|50m0s|13|2|Europe/Berlin" {
		t.Errorf("Tuesday's row %q", row)
	}
	if n := eval[int](t, tab, `document.querySelectorAll('#trend-alerts rect.bar').length`); n != 5 {
		t.Errorf("the trend has %d bars, want one per date", n)
	}
	wholeTicks(t, tab, "#trend-alerts")
	visit("07-report", "/ui/reports/acme/2027-05-04")
	if n := eval[int](t, tab, `document.querySelectorAll('#alerts-per-hour rect.bar').length`); n != 24 {
		t.Errorf("the alerts-per-hour chart has %d bars, want 24", n)
	}
	// Alerts at 02, 09, 09, 14, 14, 14 and 22 o'clock: the 14h bar is three times the 02h bar.
	heights := eval[[]float64](t, tab, `[...document.querySelectorAll('#alerts-per-hour rect.bar')].map(r => r.height.baseVal.value)`)
	near := func(a, b float64) bool { return a-b < 0.5 && b-a < 0.5 }
	if len(heights) == 24 && (!near(heights[14], 3*heights[2]) || !near(heights[9], 2*heights[2]) || heights[3] != 0 || heights[2] <= 0) {
		t.Errorf("bar heights %v", heights)
	}
	if n := eval[int](t, tab, `document.querySelectorAll('#pages-by-hours rect.bar').length`); n != 3 {
		t.Errorf("the pages chart has %d bars, want business, off and sleep", n)
	}
	wholeTicks(t, tab, "#alerts-per-hour")
	wholeTicks(t, tab, "#pages-by-hours")
	// The chart is the report's: an alert created into the reported day since changes nothing.
	dbtest.Exec(t, f.pool, `insert into alerts (tenant_id, source, summary, created_at, next_escalation_at) values ('acme', 'late', 'late', $1, null)`,
		local(2027, 5, 4, 14, 30))
	b.visit("07-report", "/ui/reports/acme/2027-05-04")
	if again := eval[[]float64](t, tab, `[...document.querySelectorAll('#alerts-per-hour rect.bar')].map(r => r.height.baseVal.value)`); fmt.Sprint(again) != fmt.Sprint(heights) {
		t.Errorf("the chart follows the live alerts: %v, was %v", again, heights)
	}

	b.riverUI("08-river-ui", "/ui/river/jobs?state=completed")
	b.backToConsole()
	b.noViolations()
}

// wholeTicks checks that the count axis of the chart in figure sel has whole numbers only.
func wholeTicks(t *testing.T, tab context.Context, sel string) {
	t.Helper()
	ticks := eval[[]string](t, tab, `[...document.querySelectorAll('`+sel+` text.tick')].map(x => x.textContent)`)
	if len(ticks) < 2 {
		t.Errorf("%s: ticks %q", sel, ticks)
	}
	for _, tk := range ticks {
		if strings.ContainsAny(tk, ".,") {
			t.Errorf("%s: tick %q is not a whole number", sel, tk)
		}
	}
}

// browser is a headless chromium with a tab signed in to a console on a fixture's database.
type browser struct {
	t    *testing.T
	ctx  context.Context // the browser's: a new chromedp.NewContext from it is a new tab
	tab  context.Context // signed in
	base string          // the console's URL
	dir  string          // screenshots

	mu         sync.Mutex
	violations []string
}

// newBrowser serves f's console (with River UI on f's database) and opens chromium on it.
func newBrowser(t *testing.T, path string, f *fixture) *browser {
	ctx := context.Background()
	client, err := delivery.NewClient(f.pool, delivery.ClientOptions{MaxAttempts: 10, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	uiCtx, stopUI := context.WithCancel(ctx)
	t.Cleanup(stopUI)
	river, err := NewRiverUI(uiCtx, client, f.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = f.server(river)
	ts := httptest.NewServer(f.srv)
	t.Cleanup(ts.Close)
	b := &browser{t: t, base: ts.URL, dir: screenshotDir(t)}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1360, 1000),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("lang", "en-GB"))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	// The first Run starts the browser; it gets no deadline (one would stop the browser).
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b.ctx = bctx

	// Signed in: every request of the tab carries the credentials. Every message the tab logs
	// about the Content-Security-Policy is kept.
	tab, cancelTab := chromedp.NewContext(bctx)
	t.Cleanup(cancelTab)
	entries := chromedp.Events(tab, cdplog.EntryAdded)
	go func() {
		for e, err := range entries {
			if err != nil {
				return
			}
			if e.Entry != nil && strings.Contains(e.Entry.Text, "Content Security Policy") {
				b.mu.Lock()
				b.violations = append(b.violations, e.Entry.URL+": "+e.Entry.Text)
				b.mu.Unlock()
			}
		}
	}()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword))
	if _, err := chromedp.Call(tab, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}}); err != nil {
		t.Fatal(err)
	}
	b.tab = tab
	return b
}

// visit loads path in the signed-in tab, checks that it loaded with its style sheet, and keeps a
// screenshot as name.png.
func (b *browser) visit(name, path string) {
	t := b.t
	t.Helper()
	resp, err := chromedp.Run(b.tab, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if resp.Status != 200 {
		t.Fatalf("%s: status %d", path, resp.Status)
	}
	// The style sheet loaded (a page blocked by its own policy would have none).
	if rules := eval[int](t, b.tab, `document.styleSheets.length ? document.styleSheets[0].cssRules.length : 0`); rules < 20 {
		t.Errorf("%s: the style sheet has %d rules", path, rules)
	}
	shoot(t, b.tab, b.dir, name)
}

// riverUI loads River UI at path: its application renders (its scripts ran under the policy)
// and lists the delivery jobs.
func (b *browser) riverUI(name, path string) {
	t := b.t
	t.Helper()
	if _, err := chromedp.Run(b.tab, chromedp.NavigateResponse(b.base+path)); err != nil {
		t.Fatal(err)
	}
	if !waitFor(t, b.tab, `document.querySelector('#root') !== null && document.querySelector('#root').children.length > 0`) {
		t.Errorf("River UI did not render")
	}
	if !waitFor(t, b.tab, `document.body.innerText.includes('delivery')`) {
		t.Errorf("River UI does not list the delivery jobs:\n%s", eval[string](t, b.tab, `document.body.innerText`))
	}
	shoot(t, b.tab, b.dir, name)
}

// backToConsole follows River UI's link back to the console: it is on River UI's page, over
// its layout, and leads to the Jobs page.
func (b *browser) backToConsole() {
	t := b.t
	t.Helper()
	link := eval[map[string]any](t, b.tab, `(() => { const a = document.querySelector('#opsworker-console'); if (!a) return {};
		const r = a.getBoundingClientRect(), s = getComputedStyle(a);
		return {href: a.getAttribute('href'), text: a.innerText, w: r.width, top: r.top, position: s.position,
			hit: document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === a}; })()`)
	if link["href"] != "/ui/jobs" || link["text"] != "← opsworker console" || link["position"] != "fixed" || link["hit"] != true {
		t.Fatalf("River UI's link back to the console: %v", link)
	}
	if _, err := chromedp.Run(b.tab, chromedp.Evaluate[any](`document.querySelector('#opsworker-console').click()`)); err != nil {
		t.Fatal(err)
	}
	if !waitFor(t, b.tab, `location.pathname === '/ui/jobs' && document.readyState === 'complete' && document.querySelector('h1') !== null`) {
		t.Errorf("the link led to %s", eval[string](t, b.tab, `location.href`))
	}
}

// noViolations fails the test for each Content-Security-Policy message the tab logged.
func (b *browser) noViolations() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, v := range b.violations {
		b.t.Errorf("Content-Security-Policy violation: %s", v)
	}
}

// eval evaluates a JavaScript expression in tab (through the DevTools protocol, which no page's
// policy restricts).
func eval[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitFor evaluates expr until it is true, for at most 30 seconds (River UI renders after its
// scripts have fetched from its API).
func waitFor(t *testing.T, tab context.Context, expr string) bool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if eval[bool](t, tab, expr) {
			return true
		}
		time.Sleep(200 * time.Millisecond) // the page renders on its own schedule; nothing to wait on
	}
	return false
}

// shoot keeps a full-page screenshot of tab as dir/name.png.
func shoot(t *testing.T, tab context.Context, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
