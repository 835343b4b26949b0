package worker

import (
	"net/http"
	"sync/atomic"
)

// slot is a handler's place in the HTTP mux: the mux answers before the database does, the
// handler only once it is set (503 saying why until then, and again once cleared — a process
// that stood down must not write to a schema it does not know).
type slot struct {
	h       atomic.Pointer[http.Handler]
	waiting string // the 503's text
}

func (s *slot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := s.h.Load()
	if h == nil {
		http.Error(w, s.waiting, http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// set puts h in the slot; nil clears it.
func (s *slot) set(h http.Handler) {
	if h == nil {
		s.h.Store(nil)
		return
	}
	s.h.Store(&h)
}
