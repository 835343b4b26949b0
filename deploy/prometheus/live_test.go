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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
)

// grafanaVariables are what Grafana substitutes in the dashboard's expressions, with values
// that select everything.
var grafanaVariables = strings.NewReplacer(`$__rate_interval`, `1m`, `$__interval`, `1m`, `$__range`, `1h`, `"$job"`, `".+"`)

// TestLiveExpressions builds opsworker, runs `opsworker serve` against a test database, starts
// Debian's Prometheus scraping it with rules.yml loaded, and evaluates every rule's and every
// dashboard panel's expression through Prometheus' HTTP API: each must evaluate without error,
// and every series selector in it must match series that exist (no misspelt metric or label).
func TestLiveExpressions(t *testing.T) {
	promBin := tool(t, "prometheus")
	if testing.Short() {
		t.Skip("builds opsworker and starts Prometheus")
	}
	dir := t.TempDir()
	rules, err := filepath.Abs("rules.yml")
	if err != nil {
		t.Fatal(err)
	}

	// opsworker, with both tasks firing every few seconds and delivery workers, so every series
	// exists (they exist from start anyway: see README's Metrics).
	bin := filepath.Join(dir, "opsworker")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "./cmd/opsworker")
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

	// Prometheus, scraping it every second, as compose's prometheus.yml does but for the target.
	port := freePort(t)
	config := filepath.Join(dir, "prometheus.yml")
	writeFile(t, config, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: opsworker
    honor_labels: true
    static_configs:
      - targets: [%q]
`, rules, target))
	var promLog safeBuffer
	prom := exec.CommandContext(ctx, promBin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+port, "--log.level=warn")
	prom.Stdout, prom.Stderr = &promLog, &promLog
	prom.WaitDelay = 5 * time.Second
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = prom.Wait() }()
	api := promAPI{base: "http://127.0.0.1:" + port}

	// Ready once opsworker has been scraped and every rule evaluated.
	var loaded []ruleInfo
	if !eventually(60*time.Second, func() bool {
		up, err := api.query(`up{job="opsworker"} == 1`)
		if err != nil || len(up) != 1 {
			return false
		}
		if loaded, err = api.rules(); err != nil || len(loaded) == 0 {
			return false
		}
		for _, r := range loaded {
			if r.Health != "ok" || r.LastEvaluation.IsZero() || r.LastEvaluation.Year() < 2000 {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("Prometheus did not scrape opsworker and evaluate the rules: %+v\n%s\n%s", loaded, promLog.String(), logText.String())
	}

	// The expressions: every rule Prometheus loaded (as many as rules.yml holds) and every
	// target of every dashboard panel.
	type named struct{ name, expr string }
	var exprs []named
	raw, _ := os.ReadFile("rules.yml")
	if n := regexp.MustCompile(`(?m)^\s+- alert: `).FindAll(raw, -1); len(n) != len(loaded) || len(loaded) < 6 {
		t.Fatalf("Prometheus loaded %d rules, rules.yml has %d", len(loaded), len(n))
	}
	for _, r := range loaded {
		exprs = append(exprs, named{"rule " + r.Name, r.Query})
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct{ Definition string }
		}
	}
	raw, err = os.ReadFile(filepath.Join("..", "grafana", "opsworker.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("opsworker.json: %v", err)
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, named{"panel " + p.Title, grafanaVariables.Replace(tg.Expr)})
		}
	}
	if len(dash.Panels) < 10 {
		t.Errorf("the dashboard has %d panels", len(dash.Panels))
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
	t.Logf("%d expressions checked against %d series of opsworker", len(exprs), api.count(`count({job=~".+"})`))
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

func (a promAPI) rules() ([]ruleInfo, error) {
	var data struct {
		Groups []struct {
			Rules []ruleInfo `json:"rules"`
		} `json:"groups"`
	}
	if err := a.get("/api/v1/rules", url.Values{}, &data); err != nil {
		return nil, err
	}
	var out []ruleInfo
	for _, g := range data.Groups {
		out = append(out, g.Rules...)
	}
	return out, nil
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
