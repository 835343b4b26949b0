package worker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/opsworker/opsworker/dbtest"
)

// Two processes whose allow-lists differ: the second says so at start, naming the setting and
// the peer (never the values), sets opsworker_config_mismatch, and both see that a verdict
// depending on the allow-list is not final; a third process set like the first agrees with it
// on nothing less. Processes register, and a clean exit marks the row stopped.
func TestFleetNamesSettingsThatDiffer(t *testing.T) {
	url := dbtest.NewURL(t)
	pool := dbtest.NewPool(t, url)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("ESCALATION_SCHEDULE", "off")
	t.Setenv("REPORT_SCHEDULE", "off")

	t.Setenv("DELIVERY_ALLOW_NETWORKS", "127.0.0.1/32")
	var logsA logBuffer
	a := newWorker(t, &logsA)
	a.cfg.Instance = "a"
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a.fleet.disagree(context.Background(), "DELIVERY_ALLOW_NETWORKS") {
		t.Error("alone, a disagrees")
	}

	t.Setenv("DELIVERY_ALLOW_NETWORKS", "")
	var logsB logBuffer
	b := newWorker(t, &logsB)
	b.cfg.Instance = "b"
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	line := logsB.String()
	if !strings.Contains(line, "settings differ from live peers") || !strings.Contains(line, `"settings":"DELIVERY_ALLOW_NETWORKS"`) ||
		!strings.Contains(line, `"peers":"a"`) || strings.Contains(line, "127.0.0.1/32") {
		t.Errorf("b's warning:\n%s", line)
	}
	if !b.fleet.disagree(context.Background(), "DELIVERY_ALLOW_NETWORKS") || testutil.ToFloat64(b.fleet.mismatch) != 1 {
		t.Error("b does not see the disagreement")
	}
	if err := a.fleet.beat(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if !a.fleet.disagree(context.Background(), "DELIVERY_ALLOW_NETWORKS") || testutil.ToFloat64(a.fleet.mismatch) != 1 {
		t.Error("a does not see the disagreement after its heartbeat")
	}
	b.Shutdown(context.Background())
	if n := dbtest.Int64(t, pool, `select count(*) from worker_instances where instance = 'b' and stopped_at is not null`); n != 1 {
		t.Error("b's clean exit is not recorded")
	}
	if err := a.fleet.beat(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if a.fleet.disagree(context.Background(), "DELIVERY_ALLOW_NETWORKS") || testutil.ToFloat64(a.fleet.mismatch) != 0 {
		t.Error("a still disagrees with a stopped peer")
	}
}
