package console

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsworker/opsworker/civil"
)

// params reads a request's query parameters, remembering the first mistake: a handler reads
// every parameter it takes, then answers 400 with that mistake if there is one. Unknown
// parameters are mistakes too, so a misspelt filter never silently selects everything.
type params struct {
	q       url.Values
	known   []string
	problem string
}

func newParams(q url.Values) *params { return &params{q: q} }

func (p *params) fail(format string, args ...any) {
	if p.problem == "" {
		p.problem = fmt.Sprintf(format, args...)
	}
}

// get returns parameter name's value ("" when absent); given twice is a mistake.
func (p *params) get(name string) string {
	p.known = append(p.known, name)
	vs := p.q[name]
	if len(vs) > 1 {
		p.fail("%s is given %d times", name, len(vs))
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// oneOf returns name's value, which must be empty or one of allowed.
func (p *params) oneOf(name string, allowed []string) string {
	v := p.get(name)
	if v != "" && !slices.Contains(allowed, v) {
		p.fail("%s=%q: must be one of %s", name, v, strings.Join(allowed, ", "))
	}
	return v
}

// instant returns name's RFC 3339 instant, def when absent. It must lie in the supported range
// (civil.CheckRange), like every instant opsworker takes in.
func (p *params) instant(name string, def time.Time) time.Time {
	v := p.get(name)
	if v == "" {
		if _, given := p.q[name]; given {
			p.fail("%s is empty: give an RFC 3339 instant such as 2027-05-03T10:00:00Z", name)
		}
		return def
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		p.fail("%s=%q is not an RFC 3339 instant such as 2027-05-03T10:00:00Z", name, v)
		return def
	}
	if err := civil.CheckRange(t); err != nil {
		p.fail("%s: %v", name, err)
		return def
	}
	return t
}

// date returns name's local date (YYYY-MM-DD) as midnight UTC, def when absent.
func (p *params) date(name string, def time.Time) time.Time {
	v := p.get(name)
	if v == "" {
		return def
	}
	d, err := parseDate(v)
	if err != nil {
		p.fail("%s=%q: %v", name, v, err)
		return def
	}
	return d
}

// parseDate parses a date YYYY-MM-DD within the supported range.
func parseDate(v string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a date such as 2027-05-03")
	}
	if err := civil.CheckRange(d); err != nil {
		return time.Time{}, err
	}
	return d, nil
}

// intIn returns name's whole number in [lo, hi], def when absent.
func (p *params) intIn(name string, def, lo, hi int) int {
	v := p.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail("%s=%q: must be a whole number from %d to %d", name, v, lo, hi)
		return def
	}
	return n
}

// err returns the first mistake, an unknown parameter included, or "".
func (p *params) err() string {
	if p.problem != "" {
		return p.problem
	}
	var unknown []string
	for name := range p.q {
		if !slices.Contains(p.known, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Sprintf("unknown parameter %s (this endpoint takes %s)", strings.Join(unknown, ", "), strings.Join(p.known, ", "))
	}
	return ""
}

// pathID parses a path segment that names a row by id.
func pathID(v string) (int64, bool) {
	id, err := strconv.ParseInt(v, 10, 64)
	return id, err == nil && id > 0
}

// unknownTenant is the 400 answer's message for a tenant filter that names no tenant.
func unknownTenant(id string) string {
	return fmt.Sprintf("tenant=%q: there is no such tenant", id)
}
