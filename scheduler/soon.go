package scheduler

import (
	"time"
)

// coalesceWindow is the shortest time between the starts of two runs asked for by RunSoon: a
// burst of wake-ups is a handful of runs, not one per wake-up.
const coalesceWindow = 50 * time.Millisecond

// RunSoon asks for a run of the job named name at once, besides its cron firings, through the
// same lock, deadline and history (trigger "notify"). It never blocks, and reports false for a job
// it does not know.
//
// The first request runs at once (the leading edge: an alert committed alone is paged within
// milliseconds). Requests that arrive while that run is pending or running, or within
// coalesceWindow of its start, fold into one more run, which starts when the run has ended and
// the window has passed: work that became due just after a run took its share is not left for
// the next firing, and a burst of a thousand wake-ups is a handful of runs. A request while a
// cron firing of the job runs in this process is served after it.
//
// Across replicas each asks for its own run; the lock lets one of them run, and the others skip
// without losing anything: the one holding the lock heard the same request.
func (s *Scheduler) RunSoon(name string) bool {
	e := s.lookup(name)
	if e == nil {
		return false
	}
	s.metrics.wakeups.WithLabelValues(name).Inc()
	select {
	case e.soon <- struct{}{}:
	default: // one is pending already: this request folds into it
	}
	return true
}

// lookup returns the entry of the job named name, or nil.
func (s *Scheduler) lookup(name string) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		if e.job.Name() == name {
			return e
		}
	}
	return nil
}

// soonLoop serves RunSoon's requests for e until the scheduler stops.
func (s *Scheduler) soonLoop(e *entry) {
	defer s.soonRuns.Done()
	done := s.soonDone.Done()
	var lastStart time.Time // of the last run this loop started
	for {
		select {
		case <-done:
			return
		case <-e.soon:
		}
		if wait := s.clock.Until(lastStart.Add(coalesceWindow)); !lastStart.IsZero() && wait > 0 {
			t := s.clock.NewTimer(wait)
			// Logged once the timer is set: a test that moves its clock on this line moves it
			// past the window.
			s.log.Debug("wake-up waits for the coalescing window", "job", e.job.Name(), "wait", wait)
			select {
			case <-done:
				t.Stop()
				return
			case <-t.Chan():
			}
		}
		// Wait for a run of the job in this process (a cron firing) to end: this run comes after it.
		select {
		case e.busy <- struct{}{}:
		case <-done:
			return
		}
		// Requests until now fold into this run: it has not looked for work yet.
		select {
		case <-e.soon:
		default:
		}
		if s.Running() {
			lastStart = s.clock.Now()
			_, _ = s.execute(s.base, e.job, Run{Job: e.job.Name(), ScheduledAt: lastStart, Trigger: TriggerNotify}, lastStart)
		}
		<-e.busy
	}
}
