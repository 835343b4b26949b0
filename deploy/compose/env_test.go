//go:build docker

package compose

import (
	"strings"
	"testing"
	"time"
)

// TestEnvFile: variables in the project's .env file reach the service, and `opsworker schedule`
// shows what they mean. The zone's names and DST notes also show that zone data is inside the
// binary: the runtime image has no /usr/share/zoneinfo.
func TestEnvFile(t *testing.T) {
	ensureImage(t) // before the clock: a scenario is timed without the build
	t.Parallel()
	defer timed(t)()
	s := newStack(t, map[string]string{
		"ESCALATION_SCHEDULE": "*/2 * * * *",
		"REPORT_SCHEDULE":     "@hourly",
		"CRON_TZ":             "Europe/Berlin",
	})
	out := s.compose(3*time.Minute, "run", "--rm", "opsworker", "schedule")
	for _, want := range []string{
		"escalation (ESCALATION_SCHEDULE)\n  spec: */2 * * * *\n  zone: Europe/Berlin",
		"report (REPORT_SCHEDULE)\n  spec: @hourly\n  zone: Europe/Berlin",
		"clocks jump from 02:00 to 03:00",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("schedule output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, " CET") && !strings.Contains(out, " CEST") {
		t.Errorf("schedule output shows no Berlin time:\n%s", out)
	}
}
