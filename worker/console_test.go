package worker

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/opsworker/opsworker/dbtest"
)

// serve mounts the console when CONSOLE_USERS names someone: 401 without credentials, pages and
// API with them, River UI under /ui/river/; and counts its connection in the pool's need.
func TestServeMountsTheConsole(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	t.Setenv("DATABASE_URL", dbtest.NewURL(t))
	t.Setenv("LOG_FORMAT", "json")
	t.Setenv("HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("CONSOLE_USERS", "ops:"+string(hash))
	cfg, err := LoadConfig(at(t, "2027-01-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cfg.connsExplained(), "console 1") {
		t.Errorf("pool need: %s", cfg.connsExplained())
	}
	addr := start(t).Addr().String()
	get := func(path string, auth bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if auth {
			req.SetBasicAuth("ops", "s3cret")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/ui/jobs", false); code != 401 {
		t.Errorf("without credentials: %d", code)
	}
	if code, body := get("/ui/jobs", true); code != 200 || !strings.Contains(body, "escalation") {
		t.Errorf("jobs page: %d", code)
	}
	code, body := get("/api/v1/jobs", true)
	var jobs struct{ Jobs []struct{ Name string } }
	if err := json.Unmarshal([]byte(body), &jobs); code != 200 || err != nil || len(jobs.Jobs) != len(Tasks) {
		t.Errorf("API: %d %s", code, body)
	}
	if code, body := get("/ui/river/", true); code != 200 || !strings.Contains(body, "config__json") {
		t.Errorf("River UI: %d", code)
	}
	if code, _ := get("/metrics", false); code != 200 {
		t.Errorf("/metrics now needs credentials: %d", code)
	}
}

// Without CONSOLE_USERS the console does not exist: 404, not 401.
func TestServeWithoutConsole(t *testing.T) {
	t.Setenv("DATABASE_URL", dbtest.NewURL(t))
	t.Setenv("LOG_FORMAT", "json")
	t.Setenv("HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("CONSOLE_USERS", "")
	addr := start(t).Addr().String()
	for _, path := range []string{"/ui/jobs", "/api/v1/jobs", "/ui/river/"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
}
