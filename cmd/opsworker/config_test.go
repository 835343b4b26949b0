package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/opsworker/opsworker/redact"
)

// Every variable and kind of mistake: start-up stops with exit code 2 and one line naming the
// variable, the value and the reason — before any database connection (DATABASE_URL points where
// nothing listens, so reaching the database would fail differently, with exit code 1).
func TestBadConfigurationStopsStartUp(t *testing.T) {
	for _, tc := range []struct {
		variable, value, reason string
	}{
		{"ESCALATION_SCHEDULE", "every minute", "cannot parse"},
		{"ESCALATION_SCHEDULE", "", "empty spec"},
		{"ESCALATION_SCHEDULE", "CRON_TZ=Europe/Berlin", "needs a space"},
		{"ESCALATION_SCHEDULE", "CRON_TZ=Nowhere/City */5 * * * *", "unknown time zone"},
		{"ESCALATION_SCHEDULE", "0 0 30 2 *", "never fires"},
		{"ESCALATION_SCHEDULE", "@every 100ms", "at least 1s"},
		{"REPORT_SCHEDULE", "0 25 * * *", "cannot parse"},
		{"REPORT_SCHEDULE", "0 0 31 4 *", "never fires"},
		{"CRON_TZ", "Mars/Olympus_Mons", "unknown time zone"},
		{"CRON_TZ", "", "empty"},
		{"JOB_TIMEOUT", "5 minutes", "not a duration"},
		{"JOB_TIMEOUT", "0s", "positive duration"},
		{"JOB_TIMEOUT", "-1m", "positive duration"},
		{"SHUTDOWN_TIMEOUT", "forever", "not a duration"},
		{"DATABASE_WAIT", "soon", "not a duration"},
		{"ESCALATION_ON_NOTIFY", "maybe", "not a boolean"},
		{"DELIVERY_WORKERS", "-1", "from 0"},
		{"DELIVERY_WORKERS", "many", "not a whole number"},
		{"DELIVERY_MAX_ATTEMPTS", "0", "from 1 to 100"},
		{"DELIVERY_TIMEOUT", "0s", "positive duration"},
		{"DELIVERY_TIMEOUT", "1h", "at most 5m"},
		{"DELIVERY_ALLOW_NETWORKS", "10.0.0.0/33", "not a prefix length"},
		{"DELIVERY_ALLOW_NETWORKS", "10.0.0.0/8,intranet", "not an IP address"},
		{"DELIVERY_ALLOW_NETWORKS", "0.0.0.0/0", "covers public address space wholesale"},
		{"DELIVERY_ALLOW_NETWORKS", "10.0.0.0/8,::/0", "covers public address space wholesale"},
		{"SMTP_URL", "ftp://mail.example.com", "want smtp://"},
		{"SMTP_URL", "smtp://u:hunter2@mail.example.com:notaport", "not a URL"},
		{"SMTP_URL", "smtps://u:hunter2@mail.example.com?tls=none", "contradicts"},
		{"SMTP_FROM", "nobody", "not an e-mail address"},
		{"DATABASE_WAIT", "-1s", "0 (try once) or more"},
		{"SHUTDOWN_TIMEOUT", "0", "positive duration"},
		{"HTTP_ADDR", "8080", "host:port"},
		{"HTTP_ADDR", ":http-alt", "port must be a number"},
		{"HTTP_ADDR", ":70000", "port must be a number"},
		{"LOG_FORMAT", "xml", "text or json"},
		{"LOG_LEVEL", "verbose", "debug, info, warn or error"},
		{"LOG_LEVEL", "info+2", "debug, info, warn or error"},
		{"MIGRATE", "yes please", "not a boolean"},
		{"REPORT_CATCHUP_DAYS", "seven", "not a whole number"},
		{"REPORT_CATCHUP_DAYS", "0", "from 1 to 366"},
		{"REPORT_CATCHUP_DAYS", "1000", "from 1 to 366"},
		{"DATABASE_URL", "postgres://u:hunter2@host:notaport/db", "not a valid PostgreSQL connection string"},
		{"DATABASE_URL", "mysql://u:hunter2@host/db", "not a valid PostgreSQL connection string"},
		{"DATABASE_URL", "postgres://u:hun?ter2/x#y@host:port/db", "not a valid PostgreSQL connection string"},
		{"DATABASE_URL", "postgres://u:hunter2@127.0.0.1:5432/db?pool_max_conns=4", "pool_max_conns=4 is too small"},
	} {
		t.Run(tc.variable+"="+tc.value, func(t *testing.T) {
			t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
			t.Setenv(tc.variable, tc.value)
			for _, cmd := range []string{"serve", "run", "schedule", "migrate"} {
				var out, errb bytes.Buffer
				args := []string{cmd}
				if cmd == "run" {
					args = append(args, "escalation")
				}
				code := dispatch(context.Background(), ioStreams{&out, &errb}, args)
				line := strings.TrimSpace(errb.String())
				if code != exitUsage {
					t.Fatalf("%s: exit code %d, want 2 (stderr %q)", cmd, code, line)
				}
				if strings.Count(line, "\n") != 0 {
					t.Errorf("%s: want one line, got %q", cmd, line)
				}
				shown := tc.value
				if tc.variable == "DATABASE_URL" || tc.variable == "SMTP_URL" {
					shown = sqlRedact(shown)
				}
				for _, want := range []string{tc.variable + "=", shown, tc.reason} {
					if !strings.Contains(line, want) {
						t.Errorf("%s: %q lacks %q", cmd, line, want)
					}
				}
				if strings.Contains(line, "hunter2") || strings.Contains(line, "ter2/x") {
					t.Errorf("%s: the password is printed: %q", cmd, line)
				}
			}
		})
	}
}

var sqlRedact = redact.ConnString

// A database that does not answer is reported with its address, never with its password, however
// odd the password's characters.
func TestUnreachableDatabaseHidesThePassword(t *testing.T) {
	for inURL, pw := range map[string]string{"plain-Secret1": "plain-Secret1", "p%3Fss%23w%2Frd%40x": "p?ss#w/rd@x"} {
		t.Setenv("DATABASE_URL", "postgres://app:"+inURL+"@127.0.0.1:1/x?connect_timeout=2")
		t.Setenv("DATABASE_WAIT", "1s")
		var out, errb bytes.Buffer
		code := dispatch(context.Background(), ioStreams{&out, &errb}, []string{"migrate"})
		if code != exitFailure || !strings.Contains(errb.String(), "app@127.0.0.1:1/x does not answer") {
			t.Fatalf("exit %d, stderr %q", code, errb.String())
		}
		if strings.Contains(errb.String()+out.String(), pw) || strings.Contains(errb.String(), inURL) {
			t.Fatalf("password printed: %q", errb.String())
		}
	}
}

// With LOG_FORMAT=json a configuration error is one JSON log line, like every other line the
// process writes, naming the variable; with a bad LOG_FORMAT itself, plain text.
func TestConfigurationErrorFollowsLogFormat(t *testing.T) {
	t.Setenv("LOG_FORMAT", "json")
	t.Setenv("JOB_TIMEOUT", "0s")
	code, _, errs := cli(t, "schedule")
	var line map[string]string
	if code != exitUsage || json.Unmarshal([]byte(errs), &line) != nil || line["variable"] != "JOB_TIMEOUT" ||
		line["level"] != "ERROR" || !strings.Contains(line["reason"], "positive duration") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	t.Setenv("LOG_FORMAT", "xml")
	if code, _, errs := cli(t, "schedule"); code != exitUsage || !strings.HasPrefix(errs, "opsworker: configuration: ") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}
