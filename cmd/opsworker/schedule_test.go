package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/worker"
)

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestScheduleCommandPrintsBerlinTimes(t *testing.T) {
	for _, v := range worker.SpecVariables() { // every task but escalation off
		t.Setenv(v, "off")
	}
	t.Setenv("ESCALATION_SCHEDULE", "*/5 * * * *")
	t.Setenv("CRON_TZ", "Europe/Berlin")
	t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none") // never used
	var out, errb bytes.Buffer
	if code := dispatch(context.Background(), ioStreams{&out, &errb}, []string{"schedule"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	text := out.String()
	lines := strings.Split(text, "\n")
	if lines[0] != "escalation (ESCALATION_SCHEDULE)" || !strings.Contains(text, "zone: Europe/Berlin") || !strings.Contains(text, "report (REPORT_SCHEDULE)\n  off") {
		t.Fatalf("output:\n%s", text)
	}
	var times []time.Time
	for _, l := range lines {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "next:"))
		if len(f) == 4 && (f[3] == "CET" || f[3] == "CEST") {
			v, err := time.ParseInLocation("2006-01-02 15:04:05", f[1]+" "+f[2], mustLoad(t, "Europe/Berlin"))
			if err != nil {
				t.Fatal(err)
			}
			times = append(times, v)
		}
	}
	if len(times) != 5 {
		t.Fatalf("want 5 firings in Berlin time:\n%s", text)
	}
	now := time.Now()
	for i, v := range times {
		if v.Minute()%5 != 0 || v.Second() != 0 || !v.After(now.Add(-time.Minute)) || (i > 0 && v.Sub(times[i-1]) != 5*time.Minute) {
			t.Fatalf("firing %d = %v is not on the 5-minute grid after now:\n%s", i, v, text)
		}
	}
	if !times[0].After(now.Add(-time.Second)) || times[0].Sub(now) > 5*time.Minute {
		t.Errorf("first firing %v is not the next 5-minute mark after %v", times[0], now)
	}
}

func TestScheduleCommandWarnsOfDST(t *testing.T) {
	t.Setenv("ESCALATION_SCHEDULE", "CRON_TZ=America/Chicago 30 1 * * *")
	t.Setenv("REPORT_SCHEDULE", "30 2 * * *")
	t.Setenv("CRON_TZ", "Europe/Berlin")
	var out, errb bytes.Buffer
	if code := dispatch(context.Background(), ioStreams{&out, &errb}, []string{"schedule"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	text := out.String()
	// Within any 12 months, Chicago falls back once and Berlin springs forward once.
	if !strings.Contains(text, "01:30 occurs twice") || !strings.Contains(text, "02:30 does not exist") {
		t.Fatalf("no DST notes:\n%s", text)
	}
}

func mustLoad(t *testing.T, name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
