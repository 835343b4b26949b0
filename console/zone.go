package console

import (
	"reflect"
	"time"

	"github.com/opsworker/opsworker/civil"
)

// Every page shows its times in one zone, named in its header next to the clock: a person reads
// "10:02" on the alert and "10:05" on the clock without converting. The zone is the page's
// tenant's (the tenant filtered by, the alert's, the report's own), else the one zone all the
// tenants (or schedules, or reports) the page shows share, else UTC.

// pageZone returns the zone of a page about tenant zone preferred ("" when the page has none),
// showing things whose zones are shown: preferred when given and valid, else the zone all of
// shown share, else UTC. An unknown zone name counts as UTC.
func pageZone(preferred string, shown []string) *time.Location {
	if preferred != "" {
		return loadZone(preferred)
	}
	one := ""
	for i, z := range shown {
		if i > 0 && z != one {
			return time.UTC
		}
		one = z
	}
	if one == "" {
		return time.UTC
	}
	return loadZone(one)
}

// loadZone loads a zone name from the database, UTC when it is not one.
func loadZone(name string) *time.Location {
	loc, err := civil.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// tenantZones returns the zones of tenants, for pageZone.
func tenantZones(tenants []tenant) []string {
	out := make([]string, len(tenants))
	for i, t := range tenants {
		out[i] = t.TimeZone
	}
	return out
}

// tenantZone returns the zone of tenant id among tenants ("" when id is "" or not there).
func tenantZone(tenants []tenant, id string) string {
	for _, t := range tenants {
		if t.ID == id && id != "" {
			return t.TimeZone
		}
	}
	return ""
}

var timeType = reflect.TypeFor[time.Time]()

// toZone returns a copy of v with every time.Time it holds — in fields, behind pointers, in
// slices and arrays, through exported and embedded fields — in loc, so a template cannot show a
// time in another zone than its page's. Maps are left alone (run summaries hold numbers). What
// pointers and slices refer to is converted in place: a page's data is its own, read for the
// request.
func toZone(v any, loc *time.Location) any {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	cp := reflect.New(rv.Type()).Elem()
	cp.Set(rv)
	convert(cp, loc, 0)
	return cp.Interface()
}

// maxDepth bounds convert's walk; the console's views are a few levels deep.
const maxDepth = 12

func convert(v reflect.Value, loc *time.Location, depth int) {
	if depth > maxDepth {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			if v.CanSet() {
				if t := v.Interface().(time.Time); !t.IsZero() {
					v.Set(reflect.ValueOf(t.In(loc)))
				}
			}
			return
		}
		for i := range v.NumField() {
			// An embedded struct of an unexported type still has exported (settable) fields.
			if f := v.Type().Field(i); f.IsExported() || f.Anonymous {
				convert(v.Field(i), loc, depth+1)
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			convert(v.Elem(), loc, depth+1)
		}
	case reflect.Slice, reflect.Array:
		switch v.Type().Elem().Kind() {
		case reflect.Struct, reflect.Pointer, reflect.Slice, reflect.Array, reflect.Interface:
		default:
			return // bytes, strings, numbers: no time in them
		}
		for i := range v.Len() {
			convert(v.Index(i), loc, depth+1)
		}
	case reflect.Interface:
		if !v.IsNil() && v.CanSet() {
			inner := v.Elem()
			cp := reflect.New(inner.Type()).Elem()
			cp.Set(inner)
			convert(cp, loc, depth+1)
			v.Set(cp)
		}
	}
}
