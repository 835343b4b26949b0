package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/opsworker/opsworker/civil"
)

// parser accepts what DESIGN.md promises: five fields, an optional leading seconds field, and the
// descriptors (@hourly, @every 30s, ...). The CRON_TZ= prefix is taken off before robfig sees the
// spec, because robfig v3.0.1 panics on a prefix without a following space.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Spec is a parsed cron spec and the zone it is read in. It implements cron.Schedule with two
// corrections to robfig's arithmetic (see Next), so its firing times are the ones `opsworker
// schedule` prints.
type Spec struct {
	// Text is the spec as configured, prefix included.
	Text string
	// Location is the zone the spec's fields are read in: its CRON_TZ= prefix, or the default.
	Location *time.Location

	every    time.Duration      // for @every: the interval; zero otherwise
	fields   *cron.SpecSchedule // for field and descriptor specs, in Location
	fixed    bool               // a fixed-time spec (see wallClockFixed); DST corrections apply
	naiveUTC *cron.SpecSchedule // fields read in UTC: the wall-clock readings they name, existing or not
}

var _ cron.Schedule = Spec{}

// ParseSpec parses text, reading it in defaultZone unless it carries its own CRON_TZ= prefix, and
// rejects every spec that would misbehave at run time: unparsable, a field's value or step out of
// its range (the error names the field), an unknown zone (civil.LoadLocation's rule: an IANA
// name, never Local), a prefix robfig would panic on, an @every under a second, or a spec that
// can never fire after now.
func ParseSpec(text string, defaultZone *time.Location, now time.Time) (Spec, error) {
	s := Spec{Text: text, Location: defaultZone}
	rest := strings.TrimSpace(text)
	if rest == "" {
		return Spec{}, errors.New("empty spec")
	}
	for _, prefix := range []string{"CRON_TZ=", "TZ="} {
		if !strings.HasPrefix(rest, prefix) {
			continue
		}
		zone, fields, ok := strings.Cut(rest[len(prefix):], " ")
		if !ok || strings.TrimSpace(fields) == "" {
			return Spec{}, fmt.Errorf("%s%s needs a space and then the schedule, as in %sEurope/Berlin 0 9 * * *", prefix, zone, prefix)
		}
		loc, err := civil.LoadLocation(zone)
		if err != nil {
			return Spec{}, fmt.Errorf("%s prefix: %w", prefix, err)
		}
		s.Location, rest = loc, strings.TrimSpace(fields)
		break
	}
	if s.Location == nil {
		s.Location = time.UTC
	}
	if err := checkFields(rest); err != nil {
		return Spec{}, fmt.Errorf("cannot parse: %w", err)
	}
	sched, err := parse(rest)
	if err != nil {
		return Spec{}, err
	}
	switch sched := sched.(type) {
	case cron.ConstantDelaySchedule:
		d, _ := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(rest, "@every")))
		if d < time.Second {
			return Spec{}, fmt.Errorf("@every needs an interval of at least 1s, got %s", d)
		}
		s.every = sched.Delay
	case *cron.SpecSchedule:
		inZone := *sched
		inZone.Location = s.Location
		utc := *sched
		utc.Location = time.UTC
		s.fields, s.naiveUTC = &inZone, &utc
		s.fixed = wallClockFixed(rest)
	default:
		return Spec{}, fmt.Errorf("unsupported schedule type %T", sched)
	}
	if s.Next(now).IsZero() {
		return Spec{}, errors.New("never fires: no date in the next five years matches it")
	}
	return s, nil
}

// parse calls robfig's parser, turning any panic it still has into an error.
func parse(spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("cannot parse: %v", r)
		}
	}()
	sched, err = parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("cannot parse: %w (want 5 fields, an optional leading seconds field, or a descriptor such as @hourly or @every 1m)", err)
	}
	return sched, nil
}

// Next returns the first firing strictly after t, or the zero time if there is none.
//
// It corrects robfig/cron in two ways:
//   - @every is aligned to the clock (multiples of the interval since the zero time, so @every 1m
//     fires on the minute and @every 1h on the hour), not counted from process start. Replicas
//     then fire together and the advisory lock lets exactly one of them run each firing.
//   - A fixed-time spec follows Vixie cron across DST changes, which is package civil's rule: a
//     firing whose wall-clock time falls into a spring-forward gap runs at the first instant after
//     the gap instead of being lost, and one in the repeated hour of a fall-back night runs once,
//     at the first occurrence. Interval specs (minute or hour field starting with *) keep firing
//     by the clock as robfig does.
func (s Spec) Next(t time.Time) time.Time {
	if s.every > 0 {
		return t.Truncate(s.every).Add(s.every)
	}
	if s.fields == nil {
		return time.Time{}
	}
	if s.fixed {
		return s.nextFixed(t)
	}
	return s.fields.Next(t)
}

// Upcoming returns the next n firings after t, in the spec's zone.
func (s Spec) Upcoming(t time.Time, n int) []time.Time {
	out := make([]time.Time, 0, n)
	for len(out) < n {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t.In(s.Location))
	}
	return out
}

// wallClockFixed reports whether a spec names fixed wall-clock times, by Vixie cron's rule: its
// minute and hour fields do not start with * (and @hourly, @every are not fixed).
func wallClockFixed(spec string) bool {
	if strings.HasPrefix(spec, "@") {
		return spec != "@hourly"
	}
	f := strings.Fields(spec)
	if len(f) < 5 {
		return false
	}
	minute, hour := f[len(f)-5], f[len(f)-4]
	return !strings.HasPrefix(minute, "*") && !strings.HasPrefix(hour, "*")
}
