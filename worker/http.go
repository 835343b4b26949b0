package worker

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/opsworker/opsworker/tasks/heartbeats"
)

// probes are what /healthz and /readyz ask. healthy says the process is up and working
// (waiting for the database at start counts: an orchestrator must not restart a process that is
// only patient); ready says the database answers (a load balancer or a dashboard may care; the
// worker itself just retries on its next firing).
type probes struct {
	healthy func() (bool, string)
	ready   func(ctx context.Context) error
}

// newMux serves the probes and the metrics, ui (the console) under /ui/ and /api/ when it is
// not nil, act (the action links) under /act/, outside the console and its sign-in, and pings
// under /heartbeat/ (whatever CONSOLE_USERS says: the token is the credential).
func newMux(p probes, gatherer prometheus.Gatherer, ui, act, pings http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/act/", act)
	if ui != nil {
		mux.Handle("/ui/", ui)
		mux.Handle("/api/", ui)
	}
	mux.Handle(heartbeats.Prefix, pings)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ok, why := p.healthy()
		if !ok {
			http.Error(w, why, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(why + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := p.ready(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return mux
}
