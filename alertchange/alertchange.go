// Package alertchange says who made a change of an alert's status when the worker makes it.
//
// Every change of alerts.status of an alert that has pages is recorded by a trigger (migration
// 00012_followups) in the followups outbox, which the followups task turns into messages to
// everyone who was paged. The trigger cannot know who is writing: another service's write is told
// as via "service", by the acknowledged_by it set. The worker's own writes — an action link, the
// ack timeout, the heartbeat task — say who they are first, with Attribute, in transaction-local
// settings that the trigger reads and that end with the transaction.
package alertchange

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/vocab"
)

// The settings the trigger reads (transaction-local: set_config(name, value, true)). A statement
// that must set them in the statement that changes the status (one round trip) passes these names
// to set_config as parameters.
const (
	SettingVia = "opsworker.via" // a vocab.Via
	SettingBy  = "opsworker.by"  // who, as a follow-up names them (a responder's name); empty: nobody named
	SettingAt  = "opsworker.at"  // when, RFC 3339 (the worker's clock, not the transaction's)
)

// AtText is how SettingAt holds an instant.
func AtText(at time.Time) string { return at.UTC().Format(time.RFC3339Nano) }

// Attribute marks the changes of alerts.status that tx makes after it as made via via, by by
// (empty: nobody named; an acknowledgement then names its acknowledged_by), at at. It lasts until
// tx ends.
func Attribute(ctx context.Context, tx pgx.Tx, via vocab.Via, by string, at time.Time) error {
	_, err := tx.Exec(ctx, `select set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true)`,
		SettingVia, string(via), SettingBy, by, SettingAt, AtText(at))
	if err != nil {
		return fmt.Errorf("attribute the status change to %s: %w", via, err)
	}
	return nil
}
