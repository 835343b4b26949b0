package delivery

import "github.com/riverqueue/river"

// Queue is the River queue deliveries are worked from.
const Queue = "delivery"

// Args are a delivery job's arguments: the delivery's id, nothing else (no address, no secret:
// River's tables and UI show job arguments).
type Args struct {
	DeliveryID int64 `json:"delivery_id"`
}

// Kind is the River job kind.
func (Args) Kind() string { return "delivery" }

// InsertOpts puts every delivery job on Queue.
func (Args) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }
