package worker

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
)

// serve mounts /act/ without the console (CONSOLE_USERS empty) and outside any sign-in: a page's
// link shows its alert and acknowledges it; the links are the configuration's (PUBLIC_URL), and
// the action settings are among those that must agree across replicas, the secret only digested.
func TestServeMountsActionLinks(t *testing.T) {
	url := dbtest.NewURL(t)
	pool := dbtest.NewPool(t, url)
	secret := base64.StdEncoding.EncodeToString([]byte("worker test key: thirty-two bytes"))
	t.Setenv("DATABASE_URL", url)
	t.Setenv("HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("CONSOLE_USERS", "")
	t.Setenv("ESCALATION_SCHEDULE", "off")
	t.Setenv("PUBLIC_URL", "http://127.0.0.1:8080/")
	t.Setenv("ACTION_SECRET", secret)
	w := start(t)
	addr := w.Addr().String()
	if !strings.Contains(w.Config().connsExplained(), "action links 4") {
		t.Errorf("pool need: %s", w.Config().connsExplained())
	}

	dbtest.Exec(t, pool, `insert into tenants (id, name) values ('acme', 'Acme')`)
	r := dbtest.Int64(t, pool, `insert into responders (tenant_id, name) values ('acme', 'Carol') returning id`)
	a := dbtest.Int64(t, pool, `insert into alerts (tenant_id, source, summary) values ('acme', 'test', 'disk full') returning id`)
	links := w.Config().Links.Links(a, r, time.Now())
	if !strings.HasPrefix(links.Acknowledge, "http://127.0.0.1:8080/act/") {
		t.Fatalf("link %q", links.Acknowledge)
	}
	path := strings.TrimPrefix(links.Acknowledge, "http://127.0.0.1:8080")
	do := func(method, p string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+addr+p, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("GET", path); code != 200 || !strings.Contains(body, "disk full") {
		t.Fatalf("GET: %d %s", code, body)
	}
	if code, body := do("POST", path); code != 200 || !strings.Contains(body, "Acknowledged by you (Carol)") {
		t.Fatalf("POST: %d %s", code, body)
	}
	if s := dbtest.Int64(t, pool, `select count(*) from alerts where id = $1 and status = 'acknowledged' and acknowledged_by = 'Carol'`, a); s != 1 {
		t.Fatal("the alert is not acknowledged")
	}
	if code, css := do("GET", "/act/style.css"); code != 200 || !strings.Contains(css, "header.top") {
		t.Fatalf("style sheet: %d", code)
	}
	if code, _ := do("GET", "/ui/jobs"); code != 404 {
		t.Fatalf("the console appeared: %d", code)
	}

	var settings string
	if err := pool.QueryRow(context.Background(), `select settings::text from worker_instances`).Scan(&settings); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"PUBLIC_URL", "ACTION_SECRET", "ACTION_LINK_TTL"} {
		if !strings.Contains(settings, `"`+name+`"`) {
			t.Errorf("fleet settings lack %s: %s", name, settings)
		}
	}
	if strings.Contains(settings, secret) || strings.Contains(settings, secret[:12]) {
		t.Errorf("the secret is stored: %s", settings)
	}
}
