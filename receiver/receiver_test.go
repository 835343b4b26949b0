package receiver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// `opsworker receive`: a signed delivery gets 204 and is printed; a bad, missing or stale
// signature gets 401; --fail-rate 1 answers 500 to every valid delivery; a repeated webhook-id is
// marked.
// demoSecret is the demo tenant's published secret (sql/demo.sql).
const demoSecret = "whsec_b3Bzd29ya2VyIGRlbW8gc2VjcmV0IDI0"

func TestReceiver(t *testing.T) {
	hook, err := standardwebhooks.NewWebhook(demoSecret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"alert.paged","delivery_id":7,"alert":{"id":3,"summary":"disk full","severity":"critical"},"responder":{"id":1,"name":"Ann"}}`)
	post := func(r *Receiver, id string, at time.Time, sig string) int {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
		if sig == "" {
			sig, _ = hook.Sign(id, at, body)
		}
		req.Header.Set("webhook-signature", sig)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	var out bytes.Buffer
	r := &Receiver{hook: hook, out: &out, seen: map[string]int{}}
	now := time.Now()
	for _, tc := range []struct {
		name string
		id   string
		at   time.Time
		sig  string
		code int
	}{
		{"signed", "7", now, "", 204},
		{"the same delivery again", "7", now, "", 204},
		{"a bad signature", "8", now, "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 401},
		{"stale", "9", now.Add(-10 * time.Minute), "", 401},
	} {
		if code := post(r, tc.id, tc.at, tc.sig); code != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.code)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "page: alert 3 [critical] disk full") || !strings.Contains(lines[1], "(repeat 2)") ||
		!strings.Contains(lines[2], "rejected") || !strings.Contains(lines[3], "rejected") {
		t.Fatalf("printed:\n%s", out.String())
	}
	failing := &Receiver{hook: hook, out: &out, seen: map[string]int{}, failRate: 1}
	if code := post(failing, "10", now, ""); code != 500 {
		t.Errorf("--fail-rate 1: %d, want 500", code)
	}
}
