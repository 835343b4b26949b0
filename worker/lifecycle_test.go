package worker

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// start loads the configuration from the environment (the test's t.Setenv), starts a Worker in
// this process and shuts it down when t ends, checking the shutdown's bound.
func start(t *testing.T) *Worker {
	t.Helper()
	cfg, err := LoadConfig(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := w.Start(context.Background()); err != nil {
		w.Shutdown(context.Background())
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		began := time.Now()
		w.Shutdown(context.Background())
		if took, bound := time.Since(began), cfg.ShutdownTimeout+5*time.Second; took > bound {
			t.Errorf("shutdown took %s, more than SHUTDOWN_TIMEOUT + 5s = %s", took, bound)
		}
	})
	return w
}
