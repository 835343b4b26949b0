package report_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/tasks/report"
)

// Every instant a report holds stays inside the supported range (issue 17.6): the look ahead
// for gaps of the range's last days stops at its end, a day that would start before the range is
// not reported, and a run at an instant outside the range fails and writes nothing.
func TestReportsStayInsideTheSupportedRange(t *testing.T) {
	f := newFixture(t)
	f.tenant("late", "UTC")
	f.tenant("early", "Asia/Tokyo")                // its 1970-01-01 starts at 1969-12-31T15:00:00Z
	f.exec(`update tenants set created_at = null`) // tenants of unknown age: every day is theirs
	alice := f.responder("late", "Alice")
	s := f.schedule("late", "Primary", "UTC")
	f.layer(s, 1, "2199-01-01T00:00:00Z", 1, "week", "2199-12-31T12:00:00Z", alice)
	task := report.New(f.pool, report.Options{CatchupDays: 3})

	f.run(task, "2199-12-31T12:00:00Z")
	r := f.report("late", "2199-12-30T00:00:00Z").Body.Schedules[0]
	if !r.UpcomingUntil.Equal(civil.MaxInstant) || len(r.UpcomingGaps) != 1 ||
		!r.UpcomingGaps[0].Start.Equal(time.Date(2199, 12, 31, 12, 0, 0, 0, time.UTC)) || !r.UpcomingGaps[0].End.Equal(civil.MaxInstant) {
		t.Fatalf("upcoming: until %v, gaps %s", r.UpcomingUntil, jsonOf(t, r.UpcomingGaps))
	}

	f.run(task, "1970-01-03T06:00:00Z") // Tokyo's 01-03 15:00: 01-01 and 01-02 have ended
	if got, want := f.periods("early")[:1], []string{"1970-01-01T15:00:00Z"}; !slices.Equal(got, want) {
		t.Fatalf("early tenant's periods %v, want %v (its 1970-01-01 starts before the range)", got, want)
	}

	before := len(f.periods("late")) + len(f.periods("early"))
	for _, now := range []time.Time{civil.MaxInstant, civil.MinInstant.Add(-time.Hour)} {
		if _, err := task.Run(f.ctx, now); !errors.Is(err, civil.ErrOutOfRange) {
			t.Fatalf("run at %s: %v, want an error wrapping civil.ErrOutOfRange", now, err)
		}
	}
	if after := len(f.periods("late")) + len(f.periods("early")); after != before {
		t.Fatalf("runs outside the range wrote %d reports", after-before)
	}
}

// Options: the zero value takes the defaults; what is out of range is named.
func TestOptions(t *testing.T) {
	if got := (report.Options{}).WithDefaults(); got.CatchupDays != report.DefaultCatchupDays || got.Validate() != nil {
		t.Fatalf("defaults %+v: %v", got, got.Validate())
	}
	for _, n := range []int{-1, report.MaxCatchupDays + 1} {
		err := report.Options{CatchupDays: n}.WithDefaults().Validate()
		if err == nil || err.Error() != fmt.Sprintf("report: CatchupDays %d: want 1 to 366 (0: 7)", n) {
			t.Fatalf("CatchupDays %d: %v", n, err)
		}
	}
}
