package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// Service is delivery as a process holds it: the River client of the delivery queue, working
// it when Options.Workers > 0, and the Enqueuer tasks queue deliveries with.
type Service struct {
	client   *river.Client[pgx.Tx]
	enqueuer *Enqueuer
	working  bool
	log      *slog.Logger
}

// New builds the delivery service on pool from o (defaults applied, then validated).
func New(pool *pgxpool.Pool, o Options) (*Service, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	co := ClientOptions{MaxAttempts: o.MaxAttempts, Timeout: o.Timeout, StopTimeout: o.StopTimeout, Logger: o.Logger,
		Retention: o.Retention, RetentionWorker: NewRetentionWorker(pool, o.Retention, time.Now)}
	if o.Workers > 0 {
		dest := NewDestinations(o.AllowNetworks, o.Timeout)
		co.Workers = o.Workers
		co.Worker = NewWorker(pool, WorkerOptions{
			Senders: map[string]Sender{
				"webhook": Webhook{Destinations: dest},
				"slack":   Slack{Destinations: dest},
				"email":   Email{SMTP: o.SMTP, From: o.From, Timeout: o.Timeout},
			},
			MaxAttempts:   o.MaxAttempts,
			Timeout:       o.Timeout,
			Metrics:       NewMetrics(o.Registerer),
			PeersDisagree: o.PeersDisagree,
			PerHost:       o.PerHost,
			SlowAfter:     o.SlowAfter,
			SlowLane:      o.SlowLane,
			Links:         o.Links,
			Logger:        o.Logger.With("job", "delivery"),
		})
		if o.Registerer != nil {
			o.Registerer.MustRegister(NewQueueDepth(pool))
		}
	}
	client, err := NewClient(pool, co)
	if err != nil {
		return nil, fmt.Errorf("delivery queue: %w", err)
	}
	return &Service{client: client, enqueuer: NewEnqueuer(client, o.MaxAttempts), working: o.Workers > 0, log: o.Logger}, nil
}

// Enqueuer queues deliveries in a task's transaction.
func (s *Service) Enqueuer() *Enqueuer { return s.enqueuer }

// Client is the River client, for River UI (which reads through it; it need not work the queue).
func (s *Service) Client() *river.Client[pgx.Tx] { return s.client }

// Working reports whether this service works the queue (Options.Workers > 0).
func (s *Service) Working() bool { return s.working }

// Start begins working the queue, when the service works it; it returns at once. Attempts run
// under their own contexts: the end of ctx does not stop them, Stop does.
func (s *Service) Start(ctx context.Context) error {
	if !s.working {
		return nil
	}
	if err := s.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start the delivery queue: %w", err)
	}
	return nil
}

// Stop stops working the queue: no new attempt starts, running ones get Options.StopTimeout to
// finish (River's soft stop), then their contexts are cancelled (an attempt cut short is retried
// by River later, here or elsewhere). It returns when they have returned or ctx ends.
func (s *Service) Stop(ctx context.Context) {
	if !s.working {
		return
	}
	if err := s.client.Stop(ctx); err != nil {
		s.log.Error("delivery queue did not stop in time", "error", err)
	}
}
