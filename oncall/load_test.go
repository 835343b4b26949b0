package oncall

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
)

// counting is a Querier that counts the queries it passes on.
type counting struct {
	q Querier
	n atomic.Int64
}

func (c *counting) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.n.Add(1)
	return c.q.Query(ctx, sql, args...)
}

// fixture writes rows the way the platform's other services would.
type fixture struct {
	t    *testing.T
	pool *pgxpool.Pool
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	f := fixture{t, dbtest.New(t)}
	f.exec(`insert into tenants (id, name, time_zone) values ('acme', 'Acme', 'Europe/Berlin'), ('other', 'Other', 'UTC')`)
	return f
}

func (f fixture) exec(sql string, args ...any) {
	f.t.Helper()
	dbtest.Exec(f.t, f.pool, sql, args...)
}

// id runs an insert and returns the new row's id.
func (f fixture) id(sql string, args ...any) int64 {
	f.t.Helper()
	return dbtest.Int64(f.t, f.pool, sql+" returning id", args...)
}

func (f fixture) responder(tenant, name string) int64 {
	return f.id(`insert into responders (tenant_id, name) values ($1, $2)`, tenant, name)
}

func (f fixture) schedule(tenant, zone string) int64 {
	return f.id(`insert into oncall_schedules (tenant_id, name, time_zone) values ($1, 'primary', $2)`, tenant, zone)
}

func (f fixture) layer(schedule int64, priority int, start string, length int, unit string, who []int64) int64 {
	return f.id(`insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
		values ($1, $2, $3, $4, $5, $6, $7)`, schedule, fmt.Sprintf("layer p%d", priority), priority, start, length, unit, who)
}

func TestLoadReadsEverything(t *testing.T) {
	f := newFixture(t)
	ann, bob, cat := f.responder("acme", "ann"), f.responder("acme", "bob"), f.responder("acme", "cat")
	sid := f.schedule("acme", "Europe/Berlin")
	base := f.layer(sid, 1, "2027-01-04T09:00:00+01:00", 1, "week", []int64{ann, bob, ann})
	top := f.layer(sid, 5, "2027-01-04T08:00:00+01:00", 12, "hour", []int64{cat})
	f.exec(`update oncall_layers set ends_at = '2027-06-01T00:00:00+02:00' where id = $1`, top)
	f.exec(`insert into oncall_layer_restrictions (layer_id, start_day, start_time, duration) values
		($1, 7, '22:00', '12 hours'), ($1, 3, '09:30:15', '1 day 2 hours')`, top)
	o1 := f.id(`insert into oncall_overrides (schedule_id, responder_id, starts_at, ends_at, created_at)
		values ($1, $2, '2027-01-05T10:00:00Z', '2027-01-05T12:00:00Z', '2026-12-01T00:00:00Z')`, sid, cat)
	o2 := f.id(`insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at, created_at)
		values ($1, $2, $3, '2027-01-06T07:00:00Z', '2027-01-06T09:00:00Z', '2026-12-02T00:00:00Z')`, sid, bob, ann)

	s, err := Load(context.Background(), f.pool, sid, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != sid || s.TenantID != "acme" || s.Name != "primary" || s.Location.String() != "Europe/Berlin" {
		t.Errorf("schedule = %d %q %q %v", s.ID, s.TenantID, s.Name, s.Location)
	}
	if len(s.Layers) != 2 {
		t.Fatalf("%d layers", len(s.Layers))
	}
	ly := map[int64]Layer{s.Layers[0].ID: s.Layers[0], s.Layers[1].ID: s.Layers[1]}
	b, tp := ly[base], ly[top]
	if b.Priority != 1 || b.ShiftLength != 1 || b.ShiftUnit != Week || fmt.Sprint(b.Participants) != fmt.Sprint([]int64{ann, bob, ann}) ||
		!b.RotationStart.Equal(at(t, "2027-01-04T09:00:00+01:00")) || !b.EndsAt.IsZero() || len(b.Restrictions) != 0 || b.Name != "layer p1" {
		t.Errorf("base layer = %+v", b)
	}
	wantR := []Restriction{{7, 22 * time.Hour, 12 * time.Hour}, {3, 9*time.Hour + 30*time.Minute + 15*time.Second, 26 * time.Hour}}
	if tp.Priority != 5 || tp.ShiftLength != 12 || tp.ShiftUnit != Hour || !tp.EndsAt.Equal(at(t, "2027-06-01T00:00:00+02:00")) ||
		fmt.Sprint(tp.Restrictions) != fmt.Sprint(wantR) {
		t.Errorf("top layer = %+v", tp)
	}
	if len(s.Overrides) != 2 {
		t.Fatalf("overrides = %+v", s.Overrides)
	}
	w1 := Override{ID: o1, ResponderID: cat, Start: at(t, "2027-01-05T10:00:00Z"), End: at(t, "2027-01-05T12:00:00Z"), CreatedAt: at(t, "2026-12-01T00:00:00Z")}
	w2 := Override{ID: o2, ResponderID: bob, ReplacesResponderID: ann, Start: at(t, "2027-01-06T07:00:00Z"), End: at(t, "2027-01-06T09:00:00Z"), CreatedAt: at(t, "2026-12-02T00:00:00Z")}
	for i, w := range []Override{w1, w2} {
		g := s.Overrides[i]
		if g.ID != w.ID || g.ResponderID != w.ResponderID || g.ReplacesResponderID != w.ReplacesResponderID ||
			!g.Start.Equal(w.Start) || !g.End.Equal(w.End) || !g.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("override %d = %+v, want %+v", i, g, w)
		}
	}
	if len(s.Responders) != 3 || s.Responders[ann].Name != "ann" || s.Responders[cat] != (Responder{cat, "cat"}) {
		t.Errorf("responders = %+v", s.Responders)
	}

	// Loaded for answers from 12:00 on 2027-01-05, the override that ended then is left out.
	later, err := Load(context.Background(), f.pool, sid, at(t, "2027-01-05T12:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if len(later.Overrides) != 1 || later.Overrides[0].ID != o2 {
		t.Errorf("overrides since 2027-01-05T12:00Z = %+v, want only %d", later.Overrides, o2)
	}
	// Sunday 2027-01-10 23:00 Berlin: the top layer's Sunday window; base has ann (week 0).
	if r, ok := s.OnCall(at(t, "2027-01-10T23:00:00+01:00")); !ok || r.ID != cat {
		t.Errorf("OnCall = %+v %v", r, ok)
	}
	// Wednesday 2027-01-06 09:00 Berlin: before the Wednesday window; bob stands in for ann.
	if r, ok := s.OnCall(at(t, "2027-01-06T08:00:00Z")); !ok || r.ID != bob {
		t.Errorf("OnCall = %+v %v", r, ok)
	}
	// Thursday 11:30:14 Berlin: the Wednesday window of 1 day 2 hours still runs.
	if r, ok := s.OnCall(at(t, "2027-01-07T11:30:14+01:00")); !ok || r.ID != cat {
		t.Errorf("OnCall = %+v %v", r, ok)
	}
	if r, ok := s.OnCall(at(t, "2027-01-07T11:30:15+01:00")); !ok || r.ID != ann {
		t.Errorf("OnCall = %+v %v", r, ok)
	}
}

func TestLoadManyFixedQueriesAndPerScheduleErrors(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.responder("acme", "ann"), f.responder("acme", "bob")
	stranger := f.responder("other", "zed")
	var good []int64
	for i := range 6 {
		sid := f.schedule("acme", "America/Chicago")
		lid := f.layer(sid, 1, "2027-01-01T00:00:00Z", i+1, "day", []int64{ann, bob})
		f.exec(`insert into oncall_layer_restrictions (layer_id, start_time, duration) values ($1, '08:00', '8 hours')`, lid)
		f.exec(`insert into oncall_overrides (schedule_id, responder_id, starts_at, ends_at) values ($1, $2, now(), now() + interval '1 hour')`, sid, bob)
		good = append(good, sid)
	}
	badZone := f.schedule("acme", "Mars/Olympus_Mons")
	f.layer(badZone, 1, "2027-01-01T00:00:00Z", 1, "day", []int64{ann})
	foreign := f.schedule("acme", "UTC")
	foreignLayer := f.layer(foreign, 3, "2027-01-01T00:00:00Z", 1, "day", []int64{ann, stranger})
	foreignOverride := f.id(`insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at)
		values ($1, $2, $3, now(), now() + interval '1 hour')`, foreign, stranger, ann)
	ghost := f.schedule("acme", "UTC")
	ghostLayer := f.layer(ghost, 1, "2027-01-01T00:00:00Z", 1, "day", []int64{ann, 999999})
	invalid := f.schedule("acme", "UTC")
	invalidLayer := f.layer(invalid, 1, "1850-01-01T00:00:00Z", 1, "day", []int64{ann}) // before the supported range
	late := f.schedule("acme", "UTC")
	lateLayer := f.layer(late, 1, "2300-01-01T00:00:00Z", 1, "day", []int64{ann})
	endless := f.schedule("acme", "UTC")
	endlessLayer := f.layer(endless, 1, "2027-01-01T00:00:00Z", 1, "day", []int64{ann})
	f.exec(`update oncall_layers set ends_at = '9999-12-31T00:00:00Z' where id = $1`, endlessLayer)
	early := f.schedule("acme", "UTC")
	f.layer(early, 1, "2027-01-01T00:00:00Z", 1, "day", []int64{ann})
	earlyOverride := f.id(`insert into oncall_overrides (schedule_id, responder_id, starts_at, ends_at)
		values ($1, $2, '1969-12-31T23:00:00Z', '2027-01-01T00:00:00Z')`, early, bob)
	const missing = 777777

	q := &counting{q: f.pool}
	one, bad, err := LoadMany(context.Background(), q, good[:1], time.Time{})
	if err != nil || len(one) != 1 || len(bad) != 0 {
		t.Fatalf("LoadMany(one) = %v, %v, %v", one, bad, err)
	}
	perOne := q.n.Swap(0)

	ids := append(append([]int64{}, good...), badZone, foreign, ghost, invalid, late, endless, early, missing, good[0])
	ss, bad, err := LoadMany(context.Background(), q, ids, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if n := q.n.Load(); n != perOne || n > 5 {
		t.Errorf("%d queries for %d ids, %d for one", n, len(ids), perOne)
	}
	for _, id := range good {
		s := ss[id]
		if s == nil || bad[id] != nil || len(s.Layers) != 1 || len(s.Layers[0].Restrictions) != 1 || len(s.Overrides) != 1 || len(s.Responders) != 2 {
			t.Errorf("schedule %d = %+v, %v", id, s, bad[id])
		}
	}
	// A participant or override responder of another tenant, or no responder at all, leaves
	// the schedule good: its turns are empty, the override is ignored, the problem is listed.
	if s := ss[foreign]; s == nil || bad[foreign] != nil || len(s.Responders) != 1 || !slices.Equal(s.Problems, []string{
		fmt.Sprintf(`layer %d: participant %d is not a responder of tenant "acme"; its turns are empty`, foreignLayer, stranger),
		fmt.Sprintf(`override %d: responder %d is not a responder of tenant "acme"; the override is ignored`, foreignOverride, stranger),
	}) {
		t.Errorf("schedule with another tenant's responder = %+v, %v", s, bad[foreign])
	}
	if s := ss[ghost]; s == nil || bad[ghost] != nil || !slices.Equal(s.Problems, []string{
		fmt.Sprintf(`layer %d: participant 999999 is not a responder of tenant "acme"; its turns are empty`, ghostLayer),
	}) {
		t.Errorf("schedule with a missing responder = %+v, %v", s, bad[ghost])
	}
	for _, id := range good {
		if p := ss[id].Problems; len(p) != 0 {
			t.Errorf("schedule %d: problems %q", id, p)
		}
	}
	if len(ss) != len(good)+2 || len(bad) != 6 {
		t.Errorf("%d good, %d bad: %v", len(ss), len(bad), bad)
	}
	expect := func(id int64, is error, parts ...string) {
		t.Helper()
		err := bad[id]
		if err == nil || !errors.Is(err, is) {
			t.Errorf("schedule %d: error %v, want %v", id, err, is)
			return
		}
		for _, p := range append(parts, fmt.Sprintf("schedule %d", id)) {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("schedule %d: error %q lacks %q", id, err, p)
			}
		}
	}
	expect(badZone, ErrInvalid, `unknown time zone "Mars/Olympus_Mons"`)
	const supported = "is outside the supported range 1970-01-01T00:00:00Z to 2199-12-31T23:59:59Z"
	expect(invalid, ErrInvalid, fmt.Sprintf("layer %d: rotation start 1850-01-01T00:00:00Z %s", invalidLayer, supported))
	expect(late, ErrInvalid, fmt.Sprintf("layer %d: rotation start 2300-01-01T00:00:00Z %s", lateLayer, supported))
	expect(endless, ErrInvalid, fmt.Sprintf("layer %d: end 9999-12-31T00:00:00Z %s", endlessLayer, supported))
	expect(early, ErrInvalid, fmt.Sprintf("override %d: start 1969-12-31T23:00:00Z %s", earlyOverride, supported))
	expect(missing, ErrNotFound)

	if _, err := Load(context.Background(), f.pool, missing, time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load(missing) = %v", err)
	}
	if _, err := Load(context.Background(), f.pool, late, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Load(late) = %v", err)
	}
	if ss, bad, err := LoadMany(context.Background(), q, nil, time.Time{}); err != nil || len(ss) != 0 || len(bad) != 0 {
		t.Errorf("LoadMany(nil) = %v %v %v", ss, bad, err)
	}
}

func TestLoadFailedQueryIsErr(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := LoadMany(ctx, f.pool, []int64{1}, time.Time{}); err == nil || !strings.Contains(err.Error(), "oncall: load schedules") {
		t.Errorf("LoadMany on a cancelled context = %v", err)
	}
}

func TestMigrationConstraints(t *testing.T) {
	f := newFixture(t)
	ann := f.responder("acme", "ann")
	sid := f.schedule("acme", "UTC")
	lid := f.layer(sid, 1, "2027-01-01T00:00:00Z", 1, "day", []int64{ann})
	layer := func(values string) (string, []any) {
		return `insert into oncall_layers (schedule_id, priority, rotation_start, shift_length, shift_unit, participants) values ` + values, []any{sid, ann}
	}
	restriction := func(values string) (string, []any) {
		return `insert into oncall_layer_restrictions (layer_id, start_day, start_time, duration) values ` + values, []any{lid}
	}
	override := func(values string) (string, []any) {
		return `insert into oncall_overrides (schedule_id, responder_id, starts_at, ends_at) values ` + values, []any{sid, ann}
	}
	const check, unique, foreignKey = "23514", "23505", "23503"
	for _, c := range []struct {
		name string
		code string
		sql  func(string) (string, []any)
		vals string
	}{
		{"shift_length 0", check, layer, `($1, 2, now(), 0, 'day', array[$2::bigint])`},
		{"shift_length -1", check, layer, `($1, 2, now(), -1, 'day', array[$2::bigint])`},
		{"bad unit", check, layer, `($1, 2, now(), 1, 'month', array[$2::bigint])`},
		{"empty participants", check, layer, `($1, 2, now(), 1, 'day', array_remove(array[$2::bigint], $2::bigint))`},
		{"null participant", check, layer, `($1, 2, now(), 1, 'day', array[$2::bigint, null])`},
		{"infinite rotation_start", check, layer, `($1, 2, 'infinity', 1, 'day', array[$2::bigint])`},
		{"duplicate priority", unique, layer, `($1, 1, now(), 1, 'day', array[$2::bigint])`},
		{"start_day 8", check, restriction, `($1, 8, '09:00', '1 hour')`},
		{"start_day 0", check, restriction, `($1, 0, '09:00', '1 hour')`},
		{"start_time 24:00", check, restriction, `($1, 1, '24:00', '1 hour')`},
		{"duration 0", check, restriction, `($1, 1, '09:00', '0')`},
		{"duration 59s", check, restriction, `($1, 1, '09:00', '59 seconds')`},
		{"duration 8 days", check, restriction, `($1, 1, '09:00', '8 days')`},
		{"duration 7 days 1 second", check, restriction, `($1, 1, '09:00', '7 days 1 second')`},
		{"duration in months", check, restriction, `($1, 1, '09:00', '1 mon -29 days')`},
		{"ends_at = starts_at", check, override, `($1, $2, '2027-01-01T00:00:00Z', '2027-01-01T00:00:00Z')`},
		{"ends_at < starts_at", check, override, `($1, $2, '2027-01-02T00:00:00Z', '2027-01-01T00:00:00Z')`},
		{"schedule of an unknown tenant", foreignKey, func(string) (string, []any) {
			return `insert into oncall_schedules (tenant_id, name) values ('nobody', 'x')`, nil
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			sql, args := c.sql(c.vals)
			_, err := f.pool.Exec(context.Background(), sql, args...)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != c.code {
				t.Errorf("err = %v, want SQLSTATE %s", err, c.code)
			}
		})
	}
	// The edges of the ranges are accepted.
	f.exec(`insert into oncall_layer_restrictions (layer_id, start_day, start_time, duration) values
		($1, 7, '23:59:59.999999', '7 days'), ($1, 1, '00:00', '1 minute'), ($1, null, '12:00', '168 hours')`, lid)
}

// TestLoadStaleParticipant: a responder deleted while still a participant (the array has no
// foreign key) leaves a gap in its turns, through which the layer below shows; everyone else
// is still paged, and the schedule says what is wrong.
func TestLoadStaleParticipant(t *testing.T) {
	f := newFixture(t)
	ann, bob, cat := f.responder("acme", "ann"), f.responder("acme", "bob"), f.responder("acme", "cat")
	gone := f.responder("acme", "gone")
	stranger := f.responder("other", "zed")
	sid := f.schedule("acme", "UTC")
	top := f.layer(sid, 2, "2027-01-01T00:00:00Z", 1, "day", []int64{ann, gone, bob, gone})
	f.layer(sid, 1, "2027-01-01T00:00:00Z", 1, "week", []int64{cat})
	// Overrides naming a responder of another tenant: as the whole-schedule responder, and as
	// the one stood in for.
	foreign := f.id(`insert into oncall_overrides (schedule_id, responder_id, starts_at, ends_at)
		values ($1, $2, '2027-01-01T00:00:00Z', '2027-01-01T12:00:00Z')`, sid, stranger)
	standIn := f.id(`insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at)
		values ($1, $2, $3, '2027-01-02T00:00:00Z', '2027-01-02T12:00:00Z')`, sid, ann, stranger)
	f.exec(`delete from responders where id = $1`, gone) // no foreign key on participants

	s, err := Load(context.Background(), f.pool, sid, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf(`layer %d: participant %d is not a responder of tenant "acme"; its turns are empty`, top, gone),
		fmt.Sprintf(`override %d: responder %d is not a responder of tenant "acme"; the override is ignored`, foreign, stranger),
		fmt.Sprintf(`override %d: replaced responder %d is not a responder of tenant "acme"; the override is ignored`, standIn, stranger),
	}
	if !slices.Equal(s.Problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(s.Problems, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range []struct {
		at  string
		who int64
	}{
		{"2027-01-01T06:00:00Z", ann}, // the override by another tenant's responder is ignored
		{"2027-01-01T12:00:00Z", ann},
		{"2027-01-02T06:00:00Z", cat}, // gone's turn: cat's layer shows through
		{"2027-01-03T06:00:00Z", bob},
		{"2027-01-04T06:00:00Z", cat},
		{"2027-01-05T06:00:00Z", ann},
	} {
		if r, ok := s.OnCall(at(t, c.at)); !ok || r.ID != c.who {
			t.Errorf("OnCall(%s) = %+v, %v; want %d", c.at, r, ok, c.who)
		}
	}
	got := s.Shifts(at(t, "2027-01-01T00:00:00Z"), at(t, "2027-01-05T00:00:00Z"))
	wantShifts := []Shift{
		{at(t, "2027-01-01T00:00:00Z"), at(t, "2027-01-02T00:00:00Z"), &Responder{ann, "ann"}},
		{at(t, "2027-01-02T00:00:00Z"), at(t, "2027-01-03T00:00:00Z"), &Responder{cat, "cat"}},
		{at(t, "2027-01-03T00:00:00Z"), at(t, "2027-01-04T00:00:00Z"), &Responder{bob, "bob"}},
		{at(t, "2027-01-04T00:00:00Z"), at(t, "2027-01-05T00:00:00Z"), &Responder{cat, "cat"}},
	}
	if !sameShifts(got, wantShifts) {
		t.Errorf("shifts:\n%swant:\n%s", formatShifts(got), formatShifts(wantShifts))
	}
}

// TestLoadManyOrder: LoadMany's order does not depend on the order PostgreSQL returns rows in
// (an update moves a row to the end of its table): layers by priority, highest first, each
// layer's restrictions by id, overrides by created_at then id; and a schedule's errors in the
// order of its layers, then of its restrictions.
func TestLoadManyOrder(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.responder("acme", "ann"), f.responder("acme", "bob")
	sid := f.schedule("acme", "UTC")
	low := f.layer(sid, 1, "2027-01-01T00:00:00Z", 1, "day", []int64{ann})
	high := f.layer(sid, 3, "2027-01-01T00:00:00Z", 1, "day", []int64{bob})
	mid := f.layer(sid, 2, "2027-01-01T00:00:00Z", 1, "day", []int64{ann, bob})
	restriction := func(layer int64, start string) int64 {
		return f.id(`insert into oncall_layer_restrictions (layer_id, start_time, duration) values ($1, $2, '1 hour')`, layer, start)
	}
	r1, _, r3 := restriction(low, "01:00"), restriction(high, "02:00"), restriction(low, "03:00")
	override := func(created string) int64 {
		return f.id(`insert into oncall_overrides (schedule_id, responder_id, starts_at, ends_at, created_at)
			values ($1, $2, '2027-02-01T00:00:00Z', '2027-02-02T00:00:00Z', $3)`, sid, ann, created)
	}
	o1, o2, o3 := override("2026-12-03T00:00:00Z"), override("2026-12-01T00:00:00Z"), override("2026-12-01T00:00:00Z")
	// Move the first of each to the end of its table.
	f.exec(`update oncall_layers set name = name || '.' where id = $1`, low)
	f.exec(`update oncall_layer_restrictions set duration = duration where id = $1`, r1)
	f.exec(`update oncall_overrides set ends_at = ends_at where id = $1`, o2)

	s, err := Load(context.Background(), f.pool, sid, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var layers, overrides []int64
	for _, l := range s.Layers {
		layers = append(layers, l.ID)
	}
	for _, o := range s.Overrides {
		overrides = append(overrides, o.ID)
	}
	if !slices.Equal(layers, []int64{high, mid, low}) {
		t.Errorf("layers %v, want %v", layers, []int64{high, mid, low})
	}
	if r := s.Layers[2].Restrictions; len(r) != 2 || r[0].StartTime != time.Hour || r[1].StartTime != 3*time.Hour {
		t.Errorf("restrictions of layer %d (%d then %d) = %v", low, r1, r3, r)
	}
	if !slices.Equal(overrides, []int64{o2, o3, o1}) {
		t.Errorf("overrides %v, want %v", overrides, []int64{o2, o3, o1})
	}

	// The schema allows neither an endless past nor a duration in months; another service's
	// data might still hold them.
	f.exec(`alter table oncall_layer_restrictions drop constraint oncall_layer_restrictions_duration_check`)
	bad := f.schedule("acme", "UTC")
	first := f.layer(bad, 1, "2027-01-01T00:00:00Z", 1, "day", []int64{ann})
	second := f.layer(bad, 2, "2027-01-01T00:00:00Z", 1, "day", []int64{ann})
	f.exec(`update oncall_layers set ends_at = '-infinity' where id in ($1, $2)`, first, second)
	months := f.id(`insert into oncall_layer_restrictions (layer_id, start_time, duration) values ($1, '09:00', '1 mon 2 days')`, first)
	f.exec(`update oncall_layers set name = name || '.' where id = $1`, second)
	f.exec(`update oncall_layer_restrictions set start_time = start_time where id = $1`, months)
	_, err = Load(context.Background(), f.pool, bad, time.Time{})
	want := fmt.Sprintf("oncall: schedule %d: layer %d: ends at -infinity; layer %d: ends at -infinity; "+
		"layer %d: restriction duration 1 months 2 days: months have no fixed length: %v", bad, second, first, first, ErrInvalid)
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
