package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

// Bad action link settings stop start-up with exit code 2 and one line naming the variable; the
// secret's value is never printed, not even in part.
func TestBadActionSettingsStopStartUp(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("twenty-one bytes only"))
	good := base64.StdEncoding.EncodeToString([]byte("a key of thirty-two bytes, ok ok"))
	for _, tc := range []struct {
		env              map[string]string
		variable, reason string
		secret           string
	}{
		{map[string]string{"PUBLIC_URL": "https://ops.example.com", "ACTION_SECRET": short}, "ACTION_SECRET", "at least 32", short},
		{map[string]string{"PUBLIC_URL": "https://ops.example.com", "ACTION_SECRET": "hunter2hunter2 not base64!"}, "ACTION_SECRET", "not base64", "hunter2"},
		{map[string]string{"PUBLIC_URL": "https://ops.example.com", "ACTION_SECRET": good + "," + short}, "ACTION_SECRET", "key 2", short},
		{map[string]string{"ACTION_SECRET": good}, "PUBLIC_URL", "must be set when ACTION_SECRET is", good},
		{map[string]string{"PUBLIC_URL": "http://ops.example.com"}, "PUBLIC_URL", "https://", ""},
		{map[string]string{"PUBLIC_URL": "ops.example.com"}, "PUBLIC_URL", "absolute URL", ""},
		{map[string]string{"ACTION_LINK_TTL": "0s"}, "ACTION_LINK_TTL", "positive duration up to 30 days", ""},
		{map[string]string{"ACTION_LINK_TTL": "721h"}, "ACTION_LINK_TTL", "positive duration up to 30 days", ""},
		{map[string]string{"ACTION_LINK_TTL": "a day"}, "ACTION_LINK_TTL", "not a duration", ""},
	} {
		t.Run(tc.variable+"/"+tc.reason, func(t *testing.T) {
			t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errb bytes.Buffer
			code := dispatch(context.Background(), ioStreams{&out, &errb}, []string{"serve"})
			line := strings.TrimSpace(errb.String())
			if code != exitUsage || strings.Count(line, "\n") != 0 || !strings.Contains(line, tc.variable+"=") || !strings.Contains(line, tc.reason) {
				t.Fatalf("exit %d, stderr %q", code, line)
			}
			if tc.secret != "" && (strings.Contains(line, tc.secret) || strings.Contains(line, tc.secret[:min(8, len(tc.secret))])) {
				t.Fatalf("the secret is printed: %q", line)
			}
		})
	}
}
