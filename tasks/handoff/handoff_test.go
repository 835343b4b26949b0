package handoff_test

import (
	"slices"
	"testing"
	"time"
)

// A daily Berlin rotation handing off at 09:00: the responder coming on is told the lead before
// (through each enabled contact method), the subscriptions at the change, each once, whatever
// reruns; a responder without a contact method gets a failed notice; the notice says who comes
// on, who goes off and until when, in the schedule's zone.
func TestEachChangeToldOnce(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme")
	alice := f.responder("acme", "Alice", "webhook", "email")
	bob := f.responder("acme", "Bob", "slack")
	carol := f.responder("acme", "Carol")
	sched := f.schedule("acme", "Primary", "Europe/Berlin")
	f.layer(sched, 1, at("2027-05-03T07:00:00Z"), 1, "day", alice, bob, carol)
	hook := f.subscribe("acme", sched, "webhook")
	slack := f.subscribe("acme", sched, "slack")
	task := f.task(15 * time.Minute)

	if s := f.run(task, at("2027-05-04T06:30:00Z")); s["notices"] != 0 || s["schedules"] != 0 {
		t.Fatalf("first run: %v (the cursor starts here)", s)
	}
	if s := f.run(task, at("2027-05-04T06:50:00Z")); s["notices"] != 1 || s["deliveries"] != 1 || s["schedules"] != 1 {
		t.Fatalf("run 10 minutes before the change: %v, want Bob's upcoming notice", s)
	}
	if s := f.run(task, at("2027-05-04T07:00:00Z")); s["notices"] != 2 || s["deliveries"] != 2 {
		t.Fatalf("run at the change: %v, want one notice per subscription", s)
	}
	for _, now := range []string{"2027-05-04T07:00:00Z", "2027-05-04T06:55:00Z", "2027-05-04T07:10:00Z"} {
		if s := f.run(task, at(now)); s["notices"] != 0 || s["deliveries"] != 0 {
			t.Fatalf("run at %s: %v, want nothing new", now, s)
		}
	}
	if s := f.run(task, at("2027-05-05T06:50:00Z")); s["failed"] != 1 || s["notices"] != 0 {
		t.Fatalf("Carol's upcoming notice: %v, want failed (no contact method)", s)
	}

	got := f.notices()
	type brief struct {
		at           string
		kind         string
		sub, resp    int64
		status, text string
	}
	var briefs []brief
	for _, n := range got {
		briefs = append(briefs, brief{n.ChangeAt.UTC().Format(time.RFC3339), n.Kind, n.Subscription, n.Responder, n.Status, n.Notice.Text()})
	}
	want := []brief{
		{"2027-05-04T07:00:00Z", "changed", hook, 0, "pending", "Bob is now on call for Primary until Wed 09:00 CEST, after Alice."},
		{"2027-05-04T07:00:00Z", "changed", slack, 0, "pending", "Bob is now on call for Primary until Wed 09:00 CEST, after Alice."},
		{"2027-05-04T07:00:00Z", "upcoming", 0, bob, "pending", "You are on call for Primary from Tue 09:00 CEST to Wed 09:00 CEST."},
		{"2027-05-05T07:00:00Z", "upcoming", 0, carol, "failed", "You are on call for Primary from Wed 09:00 CEST to Thu 09:00 CEST."},
	}
	if !slices.Equal(briefs, want) {
		t.Fatalf("notices:\n%v\nwant\n%v", briefs, want)
	}
	n := got[0].Notice
	if n.Type != "oncall.changed" || n.Schedule.ID != sched || n.Schedule.Name != "Primary" || n.Schedule.TimeZone != "Europe/Berlin" ||
		n.At.Format(time.RFC3339) != "2027-05-04T09:00:00+02:00" || n.Until == nil || n.Until.Format(time.RFC3339) != "2027-05-05T09:00:00+02:00" ||
		len(n.OnCall) != 1 || n.OnCall[0].ID != bob || n.OnCall[0].Name != "Bob" || len(n.OffCall) != 1 || n.OffCall[0].ID != alice {
		t.Errorf("changed notice: %+v", n)
	}
	if got[2].Notice.Type != "oncall.upcoming" {
		t.Errorf("upcoming notice type %q", got[2].Notice.Type)
	}

	// Deliveries: the subscriptions' for the changed notices, Bob's Slack for his upcoming one,
	// each with its River job; the payload is the notice.
	if n := f.id(`select count(*) from deliveries d join handoff_notices h on h.id = d.source_id
		where d.message = 'notice' and d.subscription_id = h.subscription_id and h.kind = 'changed'
		  and d.payload = h.notice`); n != 2 {
		t.Errorf("%d changed deliveries", n)
	}
	if n := f.id(`select count(*) from deliveries d join handoff_notices h on h.id = d.source_id
		join contact_methods cm on cm.id = d.contact_method_id
		where d.message = 'notice' and cm.responder_id = $1 and cm.kind = 'slack' and h.kind = 'upcoming'`, bob); n != 1 {
		t.Errorf("%d upcoming deliveries to Bob's Slack", n)
	}
	if n := f.id(`select count(*) from deliveries where message = 'notice'`); n != 3 {
		t.Errorf("%d notice deliveries, want 3", n)
	}
	if n := f.id(`select count(*) from river_job where queue = 'delivery'`); n != 3 {
		t.Errorf("%d River jobs, want 3", n)
	}
}

// After downtime, changes over an hour old are recorded as skipped (no delivery); the rest are
// sent. A worker down longer than a week starts a week back.
func TestDowntimeSkipsOldChanges(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme")
	a := f.responder("acme", "A", "webhook")
	b := f.responder("acme", "B", "webhook")
	sched := f.schedule("acme", "Hourly", "UTC")
	f.layer(sched, 1, at("2027-05-03T00:00:00Z"), 1, "hour", a, b)
	f.subscribe("acme", sched, "slack")
	task := f.task(15 * time.Minute)

	f.run(task, at("2027-05-03T10:00:30Z"))
	s := f.run(task, at("2027-05-03T13:30:00Z"))
	// Changes at 11:00, 12:00 (skipped), 13:00 (sent): a changed and an upcoming notice each.
	if s["skipped"] != 4 || s["notices"] != 2 || s["deliveries"] != 2 {
		t.Fatalf("after 3.5 hours down: %v", s)
	}
	for _, n := range f.notices() {
		want := "skipped"
		if n.ChangeAt.Equal(at("2027-05-03T13:00:00Z")) {
			want = "pending"
		}
		if n.Status != want {
			t.Errorf("%s %s: %s, want %s", n.Kind, n.ChangeAt.UTC().Format(time.RFC3339), n.Status, want)
		}
	}
	if n := f.id(`select count(*) from deliveries d join handoff_notices h on h.id = d.source_id where h.status = 'skipped'`); n != 0 {
		t.Errorf("%d deliveries of skipped notices", n)
	}

	// Eight days later: a week back at most (168 hourly changes), all but the last skipped. The
	// upcoming window reaches 13:45: no change in (13:30, 13:45].
	s = f.run(task, at("2027-05-11T13:30:00Z"))
	if s["skipped"] != 2*167 || s["notices"] != 2 {
		t.Fatalf("after 8 days down: %v", s)
	}
	if first := f.id(`select count(*) from handoff_notices where change_at <= '2027-05-04T13:30:00Z' and change_at > '2027-05-03T13:45:00Z'`); first != 0 {
		t.Errorf("%d notices more than a week back", first)
	}
}

// A gap is a change (subscribers hear nobody is on call), and restrictions and overrides count.
func TestGapsRestrictionsAndOverrides(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme")
	alice := f.responder("acme", "Alice", "email")
	bob := f.responder("acme", "Bob", "email")
	carol := f.responder("acme", "Carol", "email")
	sched := f.schedule("acme", "Ops", "UTC")
	layer := f.layer(sched, 1, at("2027-05-03T09:00:00Z"), 1, "day", alice, bob)
	f.exec(`insert into oncall_layer_restrictions (layer_id, start_day, start_time, duration) values ($1, null, '09:00', '8 hours')`, layer)
	f.exec(`insert into oncall_overrides (schedule_id, responder_id, starts_at, ends_at, created_at) values ($1, $2, $3, $4, $3)`,
		sched, carol, at("2027-05-04T12:00:00Z"), at("2027-05-04T13:00:00Z"))
	f.subscribe("acme", sched, "webhook")
	task := f.task(30 * time.Minute)
	for now := at("2027-05-04T08:00:00Z"); !now.After(at("2027-05-05T10:00:00Z")); now = now.Add(30 * time.Minute) {
		f.run(task, now)
	}
	var got []string
	for _, n := range f.notices() {
		got = append(got, n.Kind+" "+n.ChangeAt.UTC().Format("02 15:04")+": "+n.Notice.Text())
	}
	want := []string{
		"changed 04 09:00: Bob is now on call for Ops until Tue 12:00 UTC.",
		"upcoming 04 09:00: You are on call for Ops from Tue 09:00 UTC to Tue 12:00 UTC.",
		"changed 04 12:00: Carol is now on call for Ops until Tue 13:00 UTC, after Bob.",
		"upcoming 04 12:00: You are on call for Ops from Tue 12:00 UTC to Tue 13:00 UTC.",
		"changed 04 13:00: Bob is now on call for Ops until Tue 17:00 UTC, after Carol.",
		"upcoming 04 13:00: You are on call for Ops from Tue 13:00 UTC to Tue 17:00 UTC.",
		"changed 04 17:00: Nobody is on call for Ops until Wed 09:00 UTC, after Bob.",
		"changed 05 09:00: Alice is now on call for Ops until Wed 17:00 UTC.",
		"upcoming 05 09:00: You are on call for Ops from Wed 09:00 UTC to Wed 17:00 UTC.",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("notices:\n%q\nwant\n%q", got, want)
	}
}

// A schedule that cannot be computed is counted and passed over; the others are told.
func TestBadScheduleDoesNotStopOthers(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme")
	a := f.responder("acme", "A", "webhook")
	b := f.responder("acme", "B", "webhook")
	bad := f.schedule("acme", "Bad", "Mars/Olympus_Mons")
	f.layer(bad, 1, at("2027-05-03T00:00:00Z"), 1, "hour", a, b)
	good := f.schedule("acme", "Good", "UTC")
	f.layer(good, 1, at("2027-05-03T00:00:00Z"), 1, "hour", a, b)
	f.subscribe("acme", bad, "webhook")
	f.subscribe("acme", good, "webhook")
	task := f.task(0)
	f.run(task, at("2027-05-03T10:30:00Z"))
	s := f.run(task, at("2027-05-03T11:30:00Z"))
	if s["bad_schedules"] != 1 || s["notices"] != 2 || s["schedules"] != 2 {
		t.Fatalf("summary %v", s)
	}
	if n := f.id(`select count(*) from handoff_notices where schedule_id = $1`, bad); n != 0 {
		t.Errorf("%d notices of the bad schedule", n)
	}
	if !task.Idle(map[string]any{"schedules": 5, "notices": 0}) || task.Idle(s) {
		t.Error("Idle")
	}
}
