package delivery

import (
	"errors"
	"testing"
	"time"
)

// The lanes' rules, step by step (timers never fire: SlowAfter is an hour, overdue is called
// by hand): a new destination gets PerHost attempts, a fast one any number, a slow one PerHost
// within the slow lane's seats; an attempt that outlasts its patience takes a seat or is cut.
func TestLanes(t *testing.T) {
	l := newLanes(2, time.Hour, 1, NewMetrics(nil))
	nop := func(error) {}
	admit := func(key string) *ticket {
		t.Helper()
		tk, why, _ := l.acquire(key, nop)
		if tk == nil {
			t.Fatalf("%s refused (%s)", key, why)
		}
		return tk
	}
	refuse := func(key, want string) {
		t.Helper()
		if tk, why, wait := l.acquire(key, nop); tk != nil || why != want || wait <= 0 {
			t.Fatalf("%s: admitted %v, why %q, wait %v; want refused, %q", key, tk != nil, why, wait, want)
		}
	}

	a1, a2 := admit("a:443"), admit("a:443")
	refuse("a:443", deferBusy) // new: PerHost at once
	a1.release(true, false)    // answered at once: fast
	var fast []*ticket
	for range 10 {
		fast = append(fast, admit("a:443")) // fast: no limit of its own
	}
	for _, tk := range fast {
		tk.release(true, false)
	}
	a2.release(false, true) // timed out: slow
	s1 := admit("a:443")    // slow: takes the lane's one seat
	if !s1.seat {
		t.Fatal("an attempt to a slow destination holds no seat")
	}
	refuse("a:443", deferLaneFull) // slow, and the lane's one seat is taken
	b1 := admit("b:443")           // new
	var cause error
	b1.cancel = func(err error) { cause = err }
	b1.overdue() // outlasts its patience with the lane full
	if !b1.cut || !errors.Is(cause, errCut) {
		t.Fatalf("overdue with the lane full: cut %v, cause %v", b1.cut, cause)
	}
	if _, cut := b1.release(false, false); !cut {
		t.Fatal("release does not report the cut")
	}
	refuse("b:443", deferLaneFull) // slow now, and the seat is taken
	s1.release(false, true)
	b2 := admit("b:443")
	if !b2.seat {
		t.Fatal("the freed seat was not taken")
	}
	c1 := admit("c:443")
	c1.overdue() // no seat free: cut
	if !c1.cut {
		t.Fatal("not cut")
	}
	b2.release(true, false) // answered in time: fast again, seat freed
	c2 := admit("c:443")    // slow, the seat is free again
	c2.overdue()            // already seated: not cut
	if c2.cut || l.seats != 1 {
		t.Fatalf("seated attempt cut %v, seats %d", c2.cut, l.seats)
	}
}
