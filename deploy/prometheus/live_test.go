package prometheus

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
)

// grafanaVariables are what Grafana substitutes in the dashboard's expressions, with values
// that select everything.
var grafanaVariables = strings.NewReplacer(`$__rate_interval`, `1m`, `$__interval`, `1m`, `$__range`, `1h`, `"$task"`, `".+"`)

// liveJob is the live test's scrape job: not "opsworker", since no rule or panel may depend on the
// job's name.
const liveJob = "ops-live"

// consoleURL is the live Prometheus's console_url external label.
const consoleURL = "https://console.test"

// TestLiveExpressions builds opsworker with the Dockerfile's -ldflags, runs `opsworker serve`
// against a test database, and checks what Prometheus sees of it:
//   - `promtool check metrics` passes on its /metrics;
//   - opsworker_build_info carries the version and revision the -ldflags stamped;
//   - no series carries a job label of its own (which would need honor_labels): Prometheus
//     scrapes it under a job of any name, without honor_labels;
//   - every rule's and every dashboard panel's expression evaluates through Prometheus' HTTP API,
//     and every series selector in it matches series that exist (no misspelt metric or label);
//   - with a second, dead target in the scrape job (and every `for` shortened to 0s),
//     OpsworkerReplicaDown fires for it alone and OpsworkerDown does not: a warning, not a page;
//   - every alert's annotations render with absolute console links under the console_url
//     external label, which Prometheus expands from CONSOLE_URL as compose's configuration has
//     it.
func TestLiveExpressions(t *testing.T) {
	promBin := tool(t, "prometheus")
	promtool := tool(t, "promtool")
	if testing.Short() {
		t.Skip("builds opsworker and starts Prometheus")
	}
	dir := t.TempDir()

	// opsworker, stamped as the Dockerfile stamps it, with both tasks firing every few seconds
	// and delivery workers, so every series exists (they exist from start anyway: see README's
	// Metrics).
	const version, revision = "v0.0.0-live", "0123456789abcdef0123456789abcdef01234567"
	bin := filepath.Join(dir, "opsworker")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath",
		"-ldflags="+dockerfileLDFlags(t, map[string]string{"VERSION": version, "REVISION": revision}), "-o", bin, "./cmd/opsworker")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve := exec.CommandContext(ctx, bin, "serve")
	serve.Env = append(os.Environ(), "DATABASE_URL="+dbtest.NewURL(t), "HTTP_ADDR=127.0.0.1:0", "LOG_FORMAT=json",
		"ESCALATION_SCHEDULE=@every 1s", "REPORT_SCHEDULE=@every 2s", "DELIVERY_WORKERS=2", "CONSOLE_USERS=")
	serve.Cancel = func() error { return serve.Process.Signal(syscall.SIGTERM) }
	serve.WaitDelay = 10 * time.Second
	logs, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = serve.Wait() }()
	addr := make(chan string, 1)
	var logText safeBuffer
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			logText.WriteString(sc.Text() + "\n")
			var line struct {
				Msg      string `json:"msg"`
				HTTPAddr string `json:"http_addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "opsworker started" {
				addr <- line.HTTPAddr
			}
		}
	}()
	var target string
	select {
	case target = <-addr:
	case <-time.After(60 * time.Second):
		t.Fatalf("opsworker did not start:\n%s", logText.String())
	}

	// Its /metrics, as Prometheus' own linter sees it.
	resp, err := http.Get("http://" + target + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	exposition, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(exposition)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics on opsworker's /metrics: %v\n%s", err, out)
	}

	// Prometheus, scraping it every second under a job of another name and without
	// honor_labels, with a dead second target; the rules as rules.yml has them but for `for`.
	rules := filepath.Join(dir, "rules.yml")
	raw, err := os.ReadFile("rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, rules, regexp.MustCompile(`(?m)^(\s+for:) \S+$`).ReplaceAllString(string(raw), "$1 0s"))
	render := filepath.Join(dir, "render.yml")
	writeFile(t, render, renderRules(t))
	dead := "127.0.0.1:" + freePort(t)
	port := freePort(t)
	config := filepath.Join(dir, "prometheus.yml")
	writeFile(t, config, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
  external_labels:
    console_url: ${CONSOLE_URL}
rule_files: [%q, %q]
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: [%q, %q]
`, rules, render, liveJob, target, dead))
	var promLog safeBuffer
	prom := exec.CommandContext(ctx, promBin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+port, "--log.level=warn", "--enable-feature=expand-external-labels")
	prom.Env = append(os.Environ(), "CONSOLE_URL="+consoleURL)
	prom.Stdout, prom.Stderr = &promLog, &promLog
	prom.WaitDelay = 5 * time.Second
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = prom.Wait() }()
	api := promAPI{base: "http://127.0.0.1:" + port}

	// Ready once opsworker has been scraped and every rule evaluated since: an evaluation before
	// the first scrape sees no opsworker at all.
	var (
		loaded  []ruleInfo
		scraped time.Time
	)
	if !eventually(60*time.Second, func() bool {
		if scraped.IsZero() {
			if up, err := api.query(fmt.Sprintf(`up{job=%q, instance=%q} == 1`, liveJob, target)); err == nil && len(up) == 1 {
				scraped = time.Now()
			}
			return false
		}
		var err error
		if loaded, err = api.rules("opsworker"); err != nil || len(loaded) == 0 {
			return false
		}
		for _, r := range loaded {
			if r.Health != "ok" || !r.LastEvaluation.After(scraped) {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("Prometheus did not scrape opsworker and evaluate the rules: %+v\n%s\n%s", loaded, promLog.String(), logText.String())
	}

	// The build, and the task label: no series of opsworker's keeps a job label of its own
	// (Prometheus would have renamed it exported_job).
	if n := api.count(fmt.Sprintf(`count(opsworker_build_info{job=%q, version=%q, revision=%q})`, liveJob, version, revision)); n != 1 {
		series, _ := api.query(`opsworker_build_info`)
		t.Errorf("opsworker_build_info does not carry the stamped version and revision: %s", series)
	}
	if clash, _ := api.query(`group by (__name__) ({exported_job!=""})`); len(clash) > 0 {
		t.Errorf("series with a job label of their own (exported_job once scraped): %s", clash)
	}
	if n := api.count(`count(opsworker_job_runs_total{task="escalation"})`); n == 0 {
		t.Error("opsworker_job_runs_total has no task label")
	}

	// The expressions: every rule Prometheus loaded (as many as rules.yml holds) and every
	// target of every dashboard panel.
	type named struct{ name, expr string }
	var exprs []named
	if n := regexp.MustCompile(`(?m)^\s+- alert: `).FindAll(raw, -1); len(n) != len(loaded) || len(loaded) < 10 {
		t.Fatalf("Prometheus loaded %d rules, rules.yml has %d", len(loaded), len(n))
	}
	for _, r := range loaded {
		exprs = append(exprs, named{"rule " + r.Name, r.Query})
	}
	dash := loadDashboard(t)
	var panels int
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		panels++
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, named{"panel " + p.Title, grafanaVariables.Replace(tg.Expr)})
		}
	}
	if panels < 15 {
		t.Errorf("the dashboard has %d panels", panels)
	}
	for _, v := range dash.Templating.List { // label_values(metric, label)
		if m := regexp.MustCompile(`^label_values\((\w+), *(\w+)\)$`).FindStringSubmatch(v.Definition); m != nil {
			exprs = append(exprs, named{"variable " + v.Definition, fmt.Sprintf("group by (%s) (%s)", m[2], m[1])})
		}
	}

	for _, e := range exprs {
		for _, problem := range api.check(e.expr) {
			t.Errorf("%s: %s\n  %s", e.name, problem, e.expr)
		}
	}
	// The check itself finds a misspelt metric and a misspelt label value.
	for _, bad := range []string{`sum(rate(opsworker_job_run_total[1m]))`, `opsworker_delivery_deliveries_total{outcome="delivered"}`} {
		if len(api.check(bad)) == 0 {
			t.Errorf("the check passes %s", bad)
		}
	}

	// The fleet: the dead target is a replica down, a warning; the live one keeps the fleet up.
	// And every alert's annotations, rendered: absolute console links, runbook in the repository.
	var alerts []alertInfo
	if !eventually(30*time.Second, func() bool {
		alerts, err = api.alerts()
		return err == nil && slices.ContainsFunc(alerts, func(a alertInfo) bool {
			return a.Labels["alertname"] == "OpsworkerReplicaDown" && a.State == "firing"
		}) && len(renderedAlerts(alerts)) == len(loaded)
	}) {
		t.Fatalf("OpsworkerReplicaDown does not fire for the dead target, or the rendered alerts are missing: %+v\n%s", alerts, promLog.String())
	}
	for _, a := range alerts {
		if a.Labels["render"] != "" {
			continue
		}
		switch name := a.Labels["alertname"]; {
		case name == "OpsworkerReplicaDown" && (a.Labels["instance"] != dead || a.Labels["severity"] != "warning"):
			t.Errorf("OpsworkerReplicaDown for the wrong target or severity: %v", a.Labels)
		case name == "OpsworkerDown":
			t.Errorf("OpsworkerDown %s while a replica answers: %v", a.State, a.Labels)
		}
	}
	for name, a := range renderedAlerts(alerts) {
		if u := a.Annotations["runbook_url"]; u != runbooks+githubAnchor(name) {
			t.Errorf("%s: runbook_url renders as %q", name, u)
		}
		if u, ok := a.Annotations["console_url"]; ok && !strings.HasPrefix(u, consoleURL+"/ui/") {
			t.Errorf("%s: console_url renders as %q, want it under %s/ui/", name, u, consoleURL)
		}
	}
	t.Logf("%d expressions checked against %d series of opsworker", len(exprs), api.count(`count({job=~".+"})`))
}

// dockerfileLDFlags returns the -ldflags of the Dockerfile's go build, with its build arguments
// replaced by args: the live binary is stamped as the image is.
func dockerfileLDFlags(t *testing.T, args map[string]string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`go build [^\n]*-ldflags="([^"]*)"`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("the Dockerfile's go build has no -ldflags")
	}
	flags := string(m[1])
	for name, v := range args {
		if !strings.Contains(flags, "${"+name+"}") {
			t.Errorf("the Dockerfile's -ldflags do not stamp %s", name)
		}
		flags = strings.ReplaceAll(flags, "${"+name+"}", v)
	}
	return flags
}

// renderRules is a rule file in which every alert of rules.yml fires at once (expr vector(1),
// labelled render), with its own annotations: Prometheus renders them as it would for the real
// alert, external labels included.
func renderRules(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("groups:\n  - name: render\n    rules:\n")
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		fmt.Fprintf(&b, "      - alert: %s\n        expr: vector(1)\n        labels: {render: \"1\"}\n        annotations:\n", r.Alert)
		for name, text := range r.Annotations {
			q, _ := json.Marshal(text) // a JSON string is a YAML double-quoted scalar
			fmt.Fprintf(&b, "          %s: %s\n", name, q)
		}
	}
	return b.String()
}

// renderedAlerts are the alerts of renderRules, firing, by name.
func renderedAlerts(alerts []alertInfo) map[string]alertInfo {
	out := map[string]alertInfo{}
	for _, a := range alerts {
		if a.Labels["render"] != "" && a.State == "firing" {
			out[a.Labels["alertname"]] = a
		}
	}
	return out
}

// dashboard is what the tests read of deploy/grafana/opsworker.json.
type dashboard struct {
	Panels []struct {
		ID         int
		Type       string
		Title      string
		Datasource *struct{ Type, UID string }
		GridPos    struct{ X, Y, W, H int }
		Targets    []struct {
			Expr, LegendFormat string
			Datasource         *struct{ Type, UID string }
		}
	}
	Templating struct {
		List []struct {
			Name, Type, Definition string
			Query                  any
			Datasource             *struct{ Type, UID string }
		}
	}
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "grafana", "opsworker.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("opsworker.json: %v", err)
	}
	return d
}

// promAPI asks Prometheus' HTTP API.
type promAPI struct{ base string }

type ruleInfo struct {
	Name           string    `json:"name"`
	Query          string    `json:"query"`
	Health         string    `json:"health"`
	LastError      string    `json:"lastError"`
	LastEvaluation time.Time `json:"lastEvaluation"`
}

func (a promAPI) get(path string, params url.Values, data any) error {
	resp, err := http.Get(a.base + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode, body)
	}
	if out.Status != "success" {
		return fmt.Errorf("%s", out.Error)
	}
	return json.Unmarshal(out.Data, data)
}

func (a promAPI) query(q string) ([]json.RawMessage, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := a.get("/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	var vec []json.RawMessage
	if data.ResultType == "vector" || data.ResultType == "matrix" {
		if err := json.Unmarshal(data.Result, &vec); err != nil {
			return nil, err
		}
	}
	return vec, nil
}

func (a promAPI) count(q string) int {
	v, err := a.query(q)
	if err != nil || len(v) == 0 {
		return 0
	}
	var s struct{ Value []any }
	_ = json.Unmarshal(v[0], &s)
	if len(s.Value) == 2 {
		var n int
		fmt.Sscan(fmt.Sprint(s.Value[1]), &n)
		return n
	}
	return 0
}

// rules returns the rules of the named group.
func (a promAPI) rules(group string) ([]ruleInfo, error) {
	var data struct {
		Groups []struct {
			Name  string     `json:"name"`
			Rules []ruleInfo `json:"rules"`
		} `json:"groups"`
	}
	if err := a.get("/api/v1/rules", url.Values{}, &data); err != nil {
		return nil, err
	}
	var out []ruleInfo
	for _, g := range data.Groups {
		if g.Name == group {
			out = append(out, g.Rules...)
		}
	}
	return out, nil
}

// alertInfo is an active (pending or firing) alert.
type alertInfo struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

func (a promAPI) alerts() ([]alertInfo, error) {
	var data struct {
		Alerts []alertInfo `json:"alerts"`
	}
	err := a.get("/api/v1/alerts", url.Values{}, &data)
	return data.Alerts, err
}

// check evaluates expr and looks up each of its series selectors; it returns what is wrong.
func (a promAPI) check(expr string) []string {
	var problems []string
	if _, err := a.query(expr); err != nil {
		problems = append(problems, "does not evaluate: "+err.Error())
	}
	sels := selectors(expr)
	if len(sels) == 0 {
		problems = append(problems, "names no series")
	}
	for _, sel := range sels {
		var series []map[string]string
		err := a.get("/api/v1/series", url.Values{"match[]": {sel}, "start": {fmt.Sprint(time.Now().Add(-10 * time.Minute).Unix())}}, &series)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("selector %s: %v", sel, err))
		case len(series) == 0:
			problems = append(problems, fmt.Sprintf("selector %s matches no series", sel))
		}
	}
	return problems
}

// eventually calls f until it returns true, at most for d.
func eventually(d time.Duration, f func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if f() {
			return true
		}
		time.Sleep(250 * time.Millisecond) // Prometheus scrapes and evaluates on its own clock
	}
	return false
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// safeBuffer is a bytes.Buffer for concurrent writers and readers.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) WriteString(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
