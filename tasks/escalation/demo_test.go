package escalation_test

import (
	"os"
	"testing"
	"time"

	"github.com/opsworker/opsworker/tasks/escalation"
)

// sql/demo.sql loads, pages someone at once and the next step a minute later, and loads again.
func TestDemoData(t *testing.T) {
	t.Parallel()
	demo, err := os.ReadFile("../../sql/demo.sql")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	f.exec(string(demo))
	var loaded time.Time
	if err := f.pool.QueryRow(f.ctx, `select now()`).Scan(&loaded); err != nil {
		t.Fatal(err)
	}
	name := func(responder int64) string {
		var n string
		if err := f.pool.QueryRow(f.ctx, `select name from responders where id = $1`, responder).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	alert := f.id(`select id from alerts where tenant_id = 'demo' and status = 'triggered'`)
	task := escalation.New(f.pool, escalation.Options{})

	s := f.run(task, loaded)
	wantSummary(t, s, map[string]int{"alerts_escalated": 1, "pages": 1, "errors": 0})
	pages := f.pages(alert)
	if len(pages) != 1 || name(pages[0].Responder) != "Carol" || pages[0].Schedule == 0 {
		t.Fatalf("first page %v, want Carol (the override) through the schedule", pages)
	}
	s = f.run(task, loaded.Add(time.Minute))
	wantSummary(t, s, map[string]int{"alerts_escalated": 1, "pages": 1})
	if pages := f.pages(alert); len(pages) != 2 || name(pages[1].Responder) != "Bob" || pages[1].Step != 1 {
		t.Fatalf("pages %v, want Bob second", pages)
	}

	f.exec(string(demo))
	if n := f.count(`select count(*) from responders where tenant_id = 'demo'`); n != 3 {
		t.Fatalf("%d demo responders after a second load, want 3", n)
	}
	if n := f.count(`select count(*) from alerts where tenant_id = 'demo' and status = 'triggered'`); n != 2 {
		t.Fatalf("%d demo alerts after a second load, want 2", n)
	}
}
