//go:build docker

package compose

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// firstPageWithin is the README's promise for the demo: a page within a minute of starting, with
// the default spec (@every 1m, on the minute), plus slack for the engine.
const firstPageWithin = 70 * time.Second

// pageCheck is one observable sign that the demo's first page happened, checked from outside.
type pageCheck struct {
	name  string
	check func(s *stack, alertID string) (bool, string)
}

// demoPageChecks all hold within firstPageWithin of `up`: the page is a row in the
// notifications outbox and a log line, and the demo profile's webhook receiver (`opsworker
// receive`) printed it, its signature verified with the demo tenant's secret.
var demoPageChecks = []pageCheck{
	{"notification row", func(s *stack, alertID string) (bool, string) {
		out := s.sql("select escalation_step || ':' || responder_id || ':' || status from notifications where alert_id = " + alertID + " order by id")
		return strings.HasPrefix(out, "0:"), "notifications: " + out
	}},
	{"log line", func(s *stack, alertID string) (bool, string) {
		logs := s.compose(time.Minute, "logs", "--no-color", "opsworker")
		re := regexp.MustCompile(`alert escalated .*tenant_id=demo alert_id=` + alertID + ` step=0`)
		return re.MatchString(logs), "no `alert escalated ... alert_id=" + alertID + " step=0` line yet"
	}},
	{"receiver, signature verified", func(s *stack, alertID string) (bool, string) {
		logs := s.compose(time.Minute, "logs", "--no-color", "receiver")
		// A verified delivery is one line; a rejected one ends with "— rejected: ...".
		re := regexp.MustCompile(`page: alert ` + alertID + ` \[critical\] db-1: disk 95% full .* delivery \d+, on call for Demo on-call\s*$`)
		for _, line := range strings.Split(logs, "\n") {
			if re.MatchString(line) {
				return true, ""
			}
		}
		return false, "the receiver has not printed a verified page of alert " + alertID + " yet:\n" + logs
	}},
}

// TestDemo is the README's first command: the database and opsworker become healthy, the demo
// service loads its tenant and exits 0, and the demo alert's first page follows within 70 s.
func TestDemo(t *testing.T) {
	ensureImage(t) // `up --build` below still builds: from the cache, as on a second run
	t.Parallel()
	defer timed(t)()
	s := newStack(t, nil) // the compose file's defaults: the owner's first experience
	start := time.Now()
	s.compose(20*time.Minute, "--profile", "demo", "up", "--build", "--detach")
	up := time.Now()
	t.Logf("up --build --detach returned after %s", up.Sub(start).Round(100*time.Millisecond))

	s.waitHealthy(time.Minute, append(s.ids("postgres"), s.ids("opsworker")...)...)
	t.Logf("postgres and opsworker healthy %s after up", time.Since(up).Round(100*time.Millisecond))
	demo := s.ids("demo")
	if len(demo) != 1 {
		t.Fatalf("demo containers: %v", demo)
	}
	eventually(t, time.Minute, "the demo service exits", func() (bool, string) {
		st := s.inspect(demo[0], "{{.State.Status}} {{.State.ExitCode}}")
		return strings.HasPrefix(st, "exited"), st
	})
	if st := s.inspect(demo[0], "{{.State.ExitCode}}"); st != "0" {
		t.Fatalf("demo exited %s", st)
	}
	alertID := s.sql("select max(id) from alerts where tenant_id = 'demo'")
	if alertID == "" {
		t.Fatal("the demo loaded no alert")
	}
	// The polls leave room for the engine's latency; what must hold is the page's own time,
	// written by the database on the machine's clock.
	for _, c := range demoPageChecks {
		eventually(t, firstPageWithin+30*time.Second-time.Since(up), "the demo's first page: "+c.name, func() (bool, string) { return c.check(s, alertID) })
		t.Logf("first page (%s) seen %s after up", c.name, time.Since(up).Round(100*time.Millisecond))
	}
	epoch, err := strconv.ParseFloat(s.sql("select extract(epoch from min(created_at)) from notifications where alert_id = "+alertID), 64)
	if err != nil {
		t.Fatal(err)
	}
	paged := time.UnixMicro(int64(epoch * 1e6))
	t.Logf("first page written %s after up", paged.Sub(up).Round(100*time.Millisecond))
	if paged.Sub(up) > firstPageWithin {
		t.Errorf("first page written %s after up, want within %s", paged.Sub(up).Round(100*time.Millisecond), firstPageWithin)
	}
}
