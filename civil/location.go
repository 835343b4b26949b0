package civil

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// locations caches time.LoadLocation by name: it reads and parses zone data on every call, and
// the escalation task loads schedules every minute. Only zones that loaded are kept, so the cache
// is bounded by the zone database, whatever names bad rows hold.
var locations sync.Map // string → *time.Location

// ErrUnknownZone is wrapped by LoadLocation's errors.
var ErrUnknownZone = errors.New("unknown time zone")

// LoadLocation is the one rule by which opsworker reads a zone's name, wherever it comes from:
// CRON_TZ and a spec's CRON_TZ= prefix, a tenant's and a schedule's time_zone. It returns the
// zone of the IANA database named name, as time.LoadLocation, cached. It refuses "" and "Local",
// which time.LoadLocation maps to UTC and to the machine's zone: what a spec or a schedule means
// must not depend on where the worker runs. Errors wrap ErrUnknownZone and read, for a
// configuration message, `unknown time zone "Mars/Olympus": name an IANA time zone such as UTC
// or Europe/Berlin`.
func LoadLocation(name string) (*time.Location, error) {
	if v, ok := locations.Load(name); ok {
		return v.(*time.Location), nil
	}
	if strings.TrimSpace(name) == "" || name == "Local" {
		return nil, zoneError(name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, zoneError(name)
	}
	v, _ := locations.LoadOrStore(name, loc)
	return v.(*time.Location), nil
}

func zoneError(name string) error {
	why := "name an IANA time zone such as UTC or Europe/Berlin"
	switch strings.TrimSpace(name) {
	case "":
		why = "empty: " + why
	case "Local":
		why = "the machine's zone is not allowed: " + why
	}
	return fmt.Errorf("%w %q: %s", ErrUnknownZone, name, why)
}
