package scheduler

import (
	"time"
)

// coalesceWindow is how long a requested run waits for more requests before it starts: a burst
// of wake-ups is one run.
const coalesceWindow = 100 * time.Millisecond

// RunSoon asks for a run of the job named name soon, besides its cron firings: after
// coalesceWindow (requests within it are one run), through the same lock, deadline and history
// (trigger "notify"). A request while the job runs in this process causes exactly one more run
// after it, so work that became due just after a run took its share is not left for the next
// firing. It never blocks, and reports false for a job it does not know.
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
	for {
		select {
		case <-s.soonDone.Done():
			return
		case <-e.soon:
		}
		t := time.NewTimer(coalesceWindow)
		select {
		case <-s.soonDone.Done():
			t.Stop()
			return
		case <-t.C:
		}
		select {
		case <-e.soon: // folded into this run
		default:
		}
		// Wait for a run of the job in this process (a cron firing) to end: this run comes after it.
		select {
		case e.busy <- struct{}{}:
		case <-s.soonDone.Done():
			return
		}
		if s.Running() {
			at := s.opts.Now()
			_, _ = s.execute(s.base, e.job, Run{Job: e.job.Name(), ScheduledAt: at, Trigger: TriggerNotify}, at)
		}
		<-e.busy
	}
}
