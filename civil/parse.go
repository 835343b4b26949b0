package civil

import (
	"fmt"
	"time"
)

// ParseInstant parses an instant a person gave as name (a flag such as "--at", an API
// parameter): RFC 3339, within the supported range. An empty value is a mistake, never "now".
// Its errors name what was given.
func ParseInstant(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("%s is empty: give an RFC 3339 instant such as 2027-05-03T10:00:00Z", name)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 instant such as 2027-05-03T10:00:00Z", name, v)
	}
	if err := CheckRange(t); err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}
