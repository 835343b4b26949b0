package main

import (
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/opsworker/opsworker/delivery"
)

// newDelivery builds the delivery queue's River client and the enqueuer the escalation task
// queues each page's deliveries with. With work (serve, DELIVERY_WORKERS > 0) the client works
// the queue once started, with DELIVERY_WORKERS attempts at once; otherwise it only inserts
// (`run escalation`, DELIVERY_WORKERS=0): pages are queued for the processes that work.
func newDelivery(cfg *config, pool *pgxpool.Pool, reg prometheus.Registerer, log *slog.Logger, work bool) (*river.Client[pgx.Tx], *delivery.Enqueuer, error) {
	o := delivery.ClientOptions{MaxAttempts: cfg.DeliveryMaxAttempts, Timeout: cfg.DeliveryTimeout, Logger: log}
	if work && cfg.DeliveryWorkers > 0 {
		dest := delivery.NewDestinations(cfg.allow, cfg.DeliveryTimeout)
		o.Workers = cfg.DeliveryWorkers
		o.Worker = delivery.NewWorker(pool, delivery.WorkerOptions{
			Senders: map[string]delivery.Sender{
				"webhook": delivery.Webhook{Destinations: dest},
				"slack":   delivery.Slack{Destinations: dest},
				"email":   delivery.Email{SMTP: cfg.smtp, From: cfg.SMTPFrom, Timeout: cfg.DeliveryTimeout},
			},
			MaxAttempts: cfg.DeliveryMaxAttempts,
			Timeout:     cfg.DeliveryTimeout,
			Metrics:     delivery.NewMetrics(reg),
			Logger:      log.With("job", "delivery"),
		})
		reg.MustRegister(delivery.NewQueueDepth(pool))
	}
	client, err := delivery.NewClient(pool, o)
	if err != nil {
		return nil, nil, err
	}
	return client, delivery.NewEnqueuer(client, cfg.DeliveryMaxAttempts), nil
}
