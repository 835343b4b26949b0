package oncall

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/opsworker/opsworker/civil"
)

// Querier is what the loader needs: *pgxpool.Pool, *pgx.Conn and pgx.Tx all satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// ErrNotFound is wrapped by the error for a schedule id that does not exist.
var ErrNotFound = errors.New("no such schedule")

// Load reads one schedule with everything it needs to answer at and after since, validated (see
// LoadMany). An unknown id gives an error wrapping ErrNotFound; bad data one wrapping ErrInvalid.
func Load(ctx context.Context, q Querier, id int64, since time.Time) (*Schedule, error) {
	ss, bad, err := LoadMany(ctx, q, []int64{id}, since)
	if err != nil {
		return nil, err
	}
	if err := bad[id]; err != nil {
		return nil, err
	}
	return ss[id], nil
}

// LoadMany reads many schedules in at most five queries, however many ids: for each id either a
// valid *Schedule or a per-schedule error (wrapping ErrNotFound, or ErrInvalid for bad data:
// an unknown zone, anything Validate rejects, such as an instant outside the supported range),
// naming the schedule and the layer or override. err is only for a failed query; one bad
// schedule never hides the others.
//
// A participant or override responder that is not (or no longer) a responder of the schedule's
// tenant (the participants array has no foreign key) does not make the schedule bad: it is
// left out of Responders, so its turns are empty and its overrides ignored, and the schedule
// carries the problem in Problems.
//
// Overrides that ended at or before since are not read: they cannot change an answer at or after
// since, and they pile up for years (every swap, every holiday) while the escalation task loads
// its schedules every minute. A zero since reads them all. The result answers correctly only at
// and after since.
//
// A schedule's layers come in priority order, highest first (then by id), each layer's
// restrictions in the order they were added (id), the overrides by CreatedAt, then id.
//
// The escalation task loads up to 500 schedules at once (a batch of alerts of as many tenants),
// so the cost per row counts. The queries do not sort: PostgreSQL's sort of the rows of 500
// schedules costs more than Go's sorts of each schedule's few. Small tables, which PostgreSQL
// reads whole, are matched on a join with unnest($1), which it hashes: "id = any($1)" compares
// each row with every id of the array in turn.
func LoadMany(ctx context.Context, q Querier, ids []int64, since time.Time) (schedules map[int64]*Schedule, bad map[int64]error, err error) {
	schedules, bad = map[int64]*Schedule{}, map[int64]error{}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 0 {
		return schedules, bad, nil
	}
	l := loader{q: q, ids: ids, since: since, byID: make(map[int64]*loading, len(ids))}
	for _, step := range []func(context.Context) error{l.readSchedules, l.readLayers, l.readRestrictions, l.readOverrides, l.readResponders} {
		if err := step(ctx); err != nil {
			return nil, nil, err
		}
	}
	for _, id := range ids {
		ld := l.byID[id]
		if ld == nil {
			bad[id] = fmt.Errorf("oncall: schedule %d: %w", id, ErrNotFound)
			continue
		}
		if err := ld.finish(l.people); err != nil {
			bad[id] = err
			continue
		}
		schedules[id] = ld.s
	}
	return schedules, bad, nil
}

// loading is a schedule being assembled, with the problems found so far.
type loading struct {
	s        *Schedule
	problems []string
}

type person struct {
	Responder
	tenant string
}

type loader struct {
	q      Querier
	ids    []int64
	since  time.Time // zero: every override
	byID   map[int64]*loading
	layers map[int64]layerOf // by id, once every schedule's layers are in place
	people map[int64]person
}

const (
	schedulesSQL = `select s.id, s.tenant_id, s.name, s.time_zone
		from oncall_schedules s join unnest($1::bigint[]) u(id) on u.id = s.id`
	layersSQL = `select id, schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants, ends_at
		from oncall_layers where schedule_id = any($1)`
	restrictionsSQL = `select r.id, r.layer_id, r.start_day, r.start_time, r.duration
		from oncall_layer_restrictions r join oncall_layers l on l.id = r.layer_id
		where l.schedule_id = any($1)`
	// Two statements, not one with "$2 is null or ends_at > $2": in the plan PostgreSQL keeps
	// for a prepared statement, that disjunction is a filter on every override the schedules
	// ever had, where ends_at > $2 is a bound of the (schedule_id, ends_at) index scan.
	overridesSQL = `select id, schedule_id, responder_id, replaces_responder_id, starts_at, ends_at, created_at
		from oncall_overrides where schedule_id = any($1)`
	overridesSinceSQL = overridesSQL + ` and ends_at > $2`
	respondersSQL     = `select r.id, r.tenant_id, r.name
		from responders r join unnest($1::bigint[]) u(id) on u.id = r.id`
)

// each runs sql and calls row after scanning each row into dest, wrapping any failure with what
// was read. The destinations are the same for every row (a closure's own would escape, one
// allocation per row), so row copies out what it keeps.
func each(ctx context.Context, q Querier, what, sql string, args []any, dest []any, row func() error) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("oncall: load %s: %w", what, err)
	}
	if _, err := pgx.ForEachRow(rows, dest, row); err != nil {
		return fmt.Errorf("oncall: load %s: %w", what, err)
	}
	return nil
}

func (l *loader) readSchedules(ctx context.Context) error {
	var (
		s    Schedule
		zone string
	)
	return each(ctx, l.q, "schedules", schedulesSQL, []any{l.ids}, []any{&s.ID, &s.TenantID, &s.Name, &zone}, func() error {
		ld := &loading{s: &Schedule{ID: s.ID, TenantID: s.TenantID, Name: s.Name}}
		loc, err := civil.LoadLocation(zone)
		if err != nil {
			ld.problems = append(ld.problems, fmt.Sprintf("unknown time zone %q", zone))
		}
		ld.s.Location = loc
		l.byID[s.ID] = ld
		return nil
	})
}

func (l *loader) readLayers(ctx context.Context) error {
	var (
		endless    []int64 // layers that end at -infinity
		ly         Layer
		scheduleID int64
		unit       string
		ends       pgtype.Timestamptz
	)
	dest := []any{&ly.ID, &scheduleID, &ly.Name, &ly.Priority, &ly.RotationStart, &ly.ShiftLength, &unit, &ly.Participants, &ends}
	err := each(ctx, l.q, "layers", layersSQL, []any{l.ids}, dest, func() error {
		v := ly // Name and Participants are new for every row
		v.ShiftUnit = Unit(unit)
		switch {
		case !ends.Valid || ends.InfinityModifier == pgtype.Infinity:
			// null or +infinity: the layer never ends
		case ends.InfinityModifier == pgtype.NegativeInfinity:
			endless = append(endless, v.ID) // a problem, reported once the layers are in order
		default:
			v.EndsAt = ends.Time
		}
		if ld := l.byID[scheduleID]; ld != nil { // else the schedule went away between the two reads
			ld.s.Layers = append(ld.s.Layers, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	l.layers = make(map[int64]layerOf, 4*len(l.byID))
	for _, ld := range l.byID {
		layers := ld.s.Layers
		slices.SortFunc(layers, func(a, b Layer) int {
			return cmp.Or(cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.ID, b.ID))
		})
		for i := range layers {
			ly := &layers[i]
			if slices.Contains(endless, ly.ID) {
				ld.problems = append(ld.problems, fmt.Sprintf("layer %d: ends at -infinity", ly.ID))
			}
			l.layers[ly.ID] = layerOf{ly, ld}
		}
	}
	return nil
}

// layerOf is a layer in place, and the schedule it belongs to.
type layerOf struct {
	*Layer
	ld *loading
}

// restriction is a restriction row, with what orders it.
type restriction struct {
	id, layerID int64
	r           Restriction
	months      int32 // not 0: a duration with months, which have no fixed length (a problem)
	days        int32
}

func (l *loader) readRestrictions(ctx context.Context) error {
	var (
		rows     []restriction
		x        restriction
		day      pgtype.Int2
		start    pgtype.Time
		duration pgtype.Interval
	)
	dest := []any{&x.id, &x.layerID, &day, &start, &duration}
	err := each(ctx, l.q, "layer restrictions", restrictionsSQL, []any{l.ids}, dest, func() error {
		v := restriction{id: x.id, layerID: x.layerID, months: duration.Months, days: duration.Days}
		v.r = Restriction{
			StartTime: time.Duration(start.Microseconds) * time.Microsecond,
			Duration:  time.Duration(duration.Days)*24*time.Hour + time.Duration(duration.Microseconds)*time.Microsecond,
		}
		if day.Valid {
			v.r.StartDay = int(day.Int16)
		}
		rows = append(rows, v)
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(rows, func(a, b restriction) int {
		return cmp.Or(cmp.Compare(a.layerID, b.layerID), cmp.Compare(a.id, b.id))
	})
	for _, x := range rows {
		ly, ok := l.layers[x.layerID]
		if !ok {
			continue // a layer added between the two reads
		}
		if x.months != 0 {
			ly.ld.problems = append(ly.ld.problems, fmt.Sprintf("layer %d: restriction duration %d months %d days: months have no fixed length", x.layerID, x.months, x.days))
		}
		ly.Restrictions = append(ly.Restrictions, x.r)
	}
	return nil
}

func (l *loader) readOverrides(ctx context.Context) error {
	sql, args := overridesSQL, []any{l.ids}
	if !l.since.IsZero() {
		sql, args = overridesSinceSQL, []any{l.ids, l.since}
	}
	var (
		o          Override
		scheduleID int64
		replaces   pgtype.Int8
	)
	dest := []any{&o.ID, &scheduleID, &o.ResponderID, &replaces, &o.Start, &o.End, &o.CreatedAt}
	err := each(ctx, l.q, "overrides", sql, args, dest, func() error {
		v := o
		v.ReplacesResponderID = 0
		if replaces.Valid {
			v.ReplacesResponderID = replaces.Int64
		}
		if ld := l.byID[scheduleID]; ld != nil {
			ld.s.Overrides = append(ld.s.Overrides, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, ld := range l.byID {
		slices.SortFunc(ld.s.Overrides, func(a, b Override) int { return older(&a, &b) })
	}
	return nil
}

// readResponders reads every responder the schedules name, for the tenant check of finish.
func (l *loader) readResponders(ctx context.Context) error {
	l.people = map[int64]person{}
	seen := map[int64]bool{}
	var ids []int64
	add := func(id int64) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, ld := range l.byID {
		for i := range ld.s.Layers {
			for _, p := range ld.s.Layers[i].Participants {
				add(p)
			}
		}
		for _, o := range ld.s.Overrides {
			add(o.ResponderID)
			if o.ReplacesResponderID != 0 {
				add(o.ReplacesResponderID)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var p person
	return each(ctx, l.q, "responders", respondersSQL, []any{ids}, []any{&p.ID, &p.tenant, &p.Name}, func() error {
		l.people[p.ID] = p
		return nil
	})
}

// finish fills Responders with the responders the schedule names that belong to its tenant,
// lists the others in Problems, and validates.
func (ld *loading) finish(people map[int64]person) error {
	s := ld.s
	s.Responders = make(map[int64]Responder, 8)
	for i := range s.Layers {
		ly := &s.Layers[i]
		for _, p := range ly.Participants {
			ld.check(people, p, "layer", ly.ID, "participant", emptyTurns)
		}
	}
	for _, o := range s.Overrides {
		ld.check(people, o.ResponderID, "override", o.ID, "responder", ignored)
		if o.ReplacesResponderID != 0 {
			ld.check(people, o.ReplacesResponderID, "override", o.ID, "replaced responder", ignored)
		}
	}
	slices.Sort(s.Problems)
	s.Problems = slices.Compact(s.Problems)
	if len(ld.problems) > 0 {
		return fmt.Errorf("oncall: schedule %d: %s: %w", s.ID, strings.Join(slices.Compact(ld.problems), "; "), ErrInvalid)
	}
	return s.Validate()
}

const (
	emptyTurns = "its turns are empty"
	ignored    = "the override is ignored"
)

// check puts responder id, named by the item (a layer or an override) as role, in Responders
// when it is one of the tenant's, and otherwise lists it in Problems, saying what a stale id
// does there (effect). Only a stale id costs a message.
func (ld *loading) check(people map[int64]person, id int64, item string, itemID int64, role, effect string) {
	s := ld.s
	if _, ok := s.Responders[id]; ok {
		return
	}
	if p, ok := people[id]; ok && p.tenant == s.TenantID {
		s.Responders[id] = p.Responder
		return
	}
	// Missing or another tenant's: the same words, so that a tenant's report does not tell it
	// which ids other tenants have.
	s.Problems = append(s.Problems, fmt.Sprintf("%s %d: %s %d is not a responder of tenant %q; %s", item, itemID, role, id, s.TenantID, effect))
}
