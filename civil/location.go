package civil

import (
	"fmt"
	"sync"
	"time"
)

// locations caches time.LoadLocation by name: it reads and parses zone data on every call, and
// the escalation task loads schedules every minute. Only zones that loaded are kept, so the cache
// is bounded by the zone database, whatever names bad rows hold.
var locations sync.Map // string → *time.Location

// LoadLocation returns the zone named name, as time.LoadLocation, cached. It refuses "" and
// "Local", which time.LoadLocation maps to UTC and to the machine's zone: a schedule's zone must
// not depend on where the worker runs.
func LoadLocation(name string) (*time.Location, error) {
	if v, ok := locations.Load(name); ok {
		return v.(*time.Location), nil
	}
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("civil: time zone %q: not a zone name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("civil: time zone %q: %w", name, err)
	}
	v, _ := locations.LoadOrStore(name, loc)
	return v.(*time.Location), nil
}
