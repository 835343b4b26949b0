package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// A bad CONSOLE_USERS stops start-up like any bad variable, and its line shows neither a hash
// nor a password.
func TestBadConsoleUsers(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	for value, reason := range map[string]string{
		"alice:hunter2":               "not a bcrypt hash",
		"hunter2":                     "not user:bcrypt-hash",
		"alice:" + string(hash) + ",": "empty",
		"alice:" + string(hash) + ",alice:" + string(hash): "named twice",
	} {
		t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
		t.Setenv("CONSOLE_USERS", value)
		var out, errb bytes.Buffer
		code := dispatch(context.Background(), ioStreams{&out, &errb}, []string{"serve"})
		line := strings.TrimSpace(errb.String())
		if code != exitUsage || !strings.Contains(line, "CONSOLE_USERS=") || !strings.Contains(line, reason) || strings.Count(line, "\n") != 0 {
			t.Errorf("%q: exit %d, %q", value, code, line)
		}
		if strings.Contains(line, "hunter2") || strings.Contains(line, "$2a$") {
			t.Errorf("%q: a secret is printed: %q", value, line)
		}
	}
}
