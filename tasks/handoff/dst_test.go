package handoff_test

import (
	"slices"
	"testing"
	"time"
)

// Every handoff across the 2027 DST changes of Berlin, New York, Sydney and Lord Howe (whose
// clocks move by 30 minutes), by name: a 12-hour rotation of A and B anchored at a wall time the
// change skips or repeats, runs every 20 minutes from noon the day before the change to noon the
// day after. The handoff in a spring-forward gap moves to the first instant after it, that day
// only; one in a fall-back overlap takes the first occurrence; the others keep their wall time,
// so the shifts around the change are shorter or longer. Each is told once to the subscription
// (at the change) and to the responder (15 minutes before), with the zone's abbreviation of the
// instant it names.
func TestHandoffsAcrossDST2027(t *testing.T) {
	for _, tc := range []struct {
		name, zone string
		anchor     string   // the rotation's start (handoff 0: A), two days before the change
		from, to   string   // the first and the last run
		handoffs   []string // the changes in (from, to], B on first, then alternating
		next       string   // the handoff after them (the last one's until)
		text       string   // the text of the changed notice at handoffs[1], the change day's
	}{
		{name: "Berlin/spring-forward", zone: "Europe/Berlin", anchor: "2027-03-26T02:30:00+01:00",
			from: "2027-03-27T12:00:00+01:00", to: "2027-03-29T12:00:00+02:00",
			handoffs: []string{"2027-03-27T14:30:00+01:00", "2027-03-28T03:00:00+02:00", "2027-03-28T14:30:00+02:00", "2027-03-29T02:30:00+02:00"},
			next:     "2027-03-29T14:30:00+02:00", text: "A is now on call for Europe/Berlin until Sun 14:30 CEST, after B."},
		{name: "Berlin/fall-back", zone: "Europe/Berlin", anchor: "2027-10-29T02:30:00+02:00",
			from: "2027-10-30T12:00:00+02:00", to: "2027-11-01T12:00:00+01:00",
			handoffs: []string{"2027-10-30T14:30:00+02:00", "2027-10-31T02:30:00+02:00", "2027-10-31T14:30:00+01:00", "2027-11-01T02:30:00+01:00"},
			next:     "2027-11-01T14:30:00+01:00", text: "A is now on call for Europe/Berlin until Sun 14:30 CET, after B."},
		{name: "NewYork/spring-forward", zone: "America/New_York", anchor: "2027-03-12T02:30:00-05:00",
			from: "2027-03-13T12:00:00-05:00", to: "2027-03-15T12:00:00-04:00",
			handoffs: []string{"2027-03-13T14:30:00-05:00", "2027-03-14T03:00:00-04:00", "2027-03-14T14:30:00-04:00", "2027-03-15T02:30:00-04:00"},
			next:     "2027-03-15T14:30:00-04:00", text: "A is now on call for America/New_York until Sun 14:30 EDT, after B."},
		{name: "NewYork/fall-back", zone: "America/New_York", anchor: "2027-11-05T01:30:00-04:00",
			from: "2027-11-06T12:00:00-04:00", to: "2027-11-08T12:00:00-05:00",
			handoffs: []string{"2027-11-06T13:30:00-04:00", "2027-11-07T01:30:00-04:00", "2027-11-07T13:30:00-05:00", "2027-11-08T01:30:00-05:00"},
			next:     "2027-11-08T13:30:00-05:00", text: "A is now on call for America/New_York until Sun 13:30 EST, after B."},
		{name: "Sydney/fall-back", zone: "Australia/Sydney", anchor: "2027-04-02T02:30:00+11:00",
			from: "2027-04-03T12:00:00+11:00", to: "2027-04-05T12:00:00+10:00",
			handoffs: []string{"2027-04-03T14:30:00+11:00", "2027-04-04T02:30:00+11:00", "2027-04-04T14:30:00+10:00", "2027-04-05T02:30:00+10:00"},
			next:     "2027-04-05T14:30:00+10:00", text: "A is now on call for Australia/Sydney until Sun 14:30 AEST, after B."},
		{name: "Sydney/spring-forward", zone: "Australia/Sydney", anchor: "2027-10-01T02:30:00+10:00",
			from: "2027-10-02T12:00:00+10:00", to: "2027-10-04T12:00:00+11:00",
			handoffs: []string{"2027-10-02T14:30:00+10:00", "2027-10-03T03:00:00+11:00", "2027-10-03T14:30:00+11:00", "2027-10-04T02:30:00+11:00"},
			next:     "2027-10-04T14:30:00+11:00", text: "A is now on call for Australia/Sydney until Sun 14:30 AEDT, after B."},
		{name: "LordHowe/fall-back", zone: "Australia/Lord_Howe", anchor: "2027-04-02T01:45:00+11:00",
			from: "2027-04-03T12:00:00+11:00", to: "2027-04-05T12:00:00+10:30",
			handoffs: []string{"2027-04-03T13:45:00+11:00", "2027-04-04T01:45:00+11:00", "2027-04-04T13:45:00+10:30", "2027-04-05T01:45:00+10:30"},
			next:     "2027-04-05T13:45:00+10:30", text: "A is now on call for Australia/Lord_Howe until Sun 13:45 +1030, after B."},
		{name: "LordHowe/spring-forward", zone: "Australia/Lord_Howe", anchor: "2027-10-01T02:15:00+10:30",
			from: "2027-10-02T12:00:00+10:30", to: "2027-10-04T12:00:00+11:00",
			handoffs: []string{"2027-10-02T14:15:00+10:30", "2027-10-03T02:30:00+11:00", "2027-10-03T14:15:00+11:00", "2027-10-04T02:15:00+11:00"},
			next:     "2027-10-04T14:15:00+11:00", text: "A is now on call for Australia/Lord_Howe until Sun 14:15 +11, after B."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.tenant("t")
			a := f.responder("t", "A", "webhook")
			b := f.responder("t", "B", "webhook")
			sched := f.schedule("t", tc.zone, tc.zone)
			f.layer(sched, 1, at(tc.anchor), 12, "hour", a, b)
			f.subscribe("t", sched, "webhook")
			task := f.task(15 * time.Minute)
			for now := at(tc.from); !now.After(at(tc.to)); now = now.Add(20 * time.Minute) {
				f.run(task, now)
			}
			var changed, upcoming []string
			for i, n := range f.notices() {
				if n.Status != "pending" {
					t.Errorf("notice %d: %s", i, n.Status)
				}
				// Every notice names the instant in the schedule's zone, as the handoff list does.
				at := n.Notice.At.Format(time.RFC3339)
				if n.Kind == "changed" {
					changed = append(changed, at)
				} else {
					upcoming = append(upcoming, at)
				}
			}
			if !slices.Equal(changed, tc.handoffs) || !slices.Equal(upcoming, tc.handoffs) {
				t.Fatalf("changed %v\nupcoming %v\nwant %v", changed, upcoming, tc.handoffs)
			}
			var onSeq []string
			for i, n := range changedNotices(f) {
				want := tc.next
				if i+1 < len(tc.handoffs) {
					want = tc.handoffs[i+1]
				}
				if n.Notice.Until == nil || n.Notice.Until.Format(time.RFC3339) != want {
					t.Errorf("handoff %s: until %v, want %s", tc.handoffs[i], n.Notice.Until, want)
				}
				onSeq = append(onSeq, n.Notice.OnCall[0].Name+"<"+n.Notice.OffCall[0].Name)
				if i == 1 {
					if got := n.Notice.Text(); got != tc.text {
						t.Errorf("text %q, want %q", got, tc.text)
					}
				}
			}
			if want := []string{"B<A", "A<B", "B<A", "A<B"}; !slices.Equal(onSeq, want) {
				t.Errorf("on<off %v, want %v", onSeq, want)
			}
		})
	}
}

func changedNotices(f *fixture) []notice {
	var out []notice
	for _, n := range f.notices() {
		if n.Kind == "changed" {
			out = append(out, n)
		}
	}
	return out
}
