package oncall

import (
	"fmt"
	"time"
)

// MaxWindow bounds a request for shifts (`opsworker oncall --until`, the console's API): a
// timeline is computed event by event, but years of hourly shifts help nobody.
const MaxWindow = 366 * 24 * time.Hour

// CheckWindow refuses a window of shifts that ends before it starts or spans more than MaxWindow.
func CheckWindow(from, until time.Time) error {
	if !until.After(from) || until.Sub(from) > MaxWindow {
		return fmt.Errorf("must be after the window's start and at most %d days later", int(MaxWindow.Hours()/24))
	}
	return nil
}
