package report

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// compute builds the report of day d. The aggregates run in one read-only REPEATABLE READ
// transaction, so they all see the same snapshot: an alert acknowledged while the report is being
// computed is counted consistently (or not at all) by every section. The insert comes after, in
// its own statement: ON CONFLICT under REPEATABLE READ fails rather than skips when a replica
// inserted the same day after the snapshot was taken.
func (t *Task) compute(ctx context.Context, d day, scheds scheduleSet, now time.Time) (*Body, error) {
	loc := d.tenant.loc
	b := &Body{
		Kind:        Kind,
		Tenant:      Tenant{ID: d.tenant.id, Name: d.tenant.name},
		GeneratedAt: now.In(loc),
		Period: Period{
			Date:     d.date.String(),
			Start:    d.start.In(loc),
			End:      d.end.In(loc),
			TimeZone: d.tenant.zone,
			Hours:    hours(d.end.Sub(d.start)),
			Tiled:    d.tiled(),
		},
	}
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := pgx.BeginTxFunc(ctx, t.pool, opts, func(tx pgx.Tx) error {
		for _, q := range []func(context.Context, pgx.Tx, day, *Body) error{queryAlerts, queryEscalations, queryPages, querySources, queryDeliveries} {
			if err := q(ctx, tx, d, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("compute: %w", err)
	}
	b.Schedules = scheds.report(d)
	b.normalise()
	return b, nil
}

// normalise makes empty lists [] rather than null in JSON, so consumers need no null checks.
func (b *Body) normalise() {
	if b.Escalations.ByStep == nil {
		b.Escalations.ByStep = []StepCount{}
	}
	if b.Pages.ByResponder == nil {
		b.Pages.ByResponder = []ResponderPages{}
	}
	if b.NoisiestSources == nil {
		b.NoisiestSources = []SourceCount{}
	}
	if b.Schedules == nil {
		b.Schedules = []ScheduleReport{}
	}
	if b.Deliveries == nil {
		b.Deliveries = []DeliveryCount{}
	}
	if b.Pages.Unreached == nil {
		b.Pages.Unreached = []UnreachedPage{}
	}
}
