package oncall

import (
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
func LoadMany(ctx context.Context, q Querier, ids []int64, since time.Time) (schedules map[int64]*Schedule, bad map[int64]error, err error) {
	schedules, bad = map[int64]*Schedule{}, map[int64]error{}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 0 {
		return schedules, bad, nil
	}
	l := loader{q: q, ids: ids, since: sinceArg(since), byID: map[int64]*loading{}, layerByID: map[int64]*Layer{}}
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
	// refs are the responders the schedule names, with who names them, for the tenant check.
	refs []ref
}

type ref struct {
	id     int64
	what   string // "layer 3: participant", "override 9: responder", ...
	effect string // what a stale id does there: "its turns are empty", ...
}

const (
	emptyTurns = "its turns are empty"
	ignored    = "the override is ignored"
)

type person struct {
	Responder
	tenant string
}

type loader struct {
	q         Querier
	ids       []int64
	since     *time.Time // nil: every override
	byID      map[int64]*loading
	layerByID map[int64]*Layer // for the restrictions
	owner     map[int64]int64  // layer id → schedule id
	people    map[int64]person
}

const (
	schedulesSQL = `select id, tenant_id, name, time_zone from oncall_schedules where id = any($1)`
	layersSQL    = `select id, schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants, ends_at
		from oncall_layers where schedule_id = any($1) order by schedule_id, priority desc, id`
	restrictionsSQL = `select r.layer_id, r.start_day, r.start_time, r.duration
		from oncall_layer_restrictions r join oncall_layers l on l.id = r.layer_id
		where l.schedule_id = any($1) order by r.layer_id, r.id`
	overridesSQL = `select id, schedule_id, responder_id, replaces_responder_id, starts_at, ends_at, created_at
		from oncall_overrides where schedule_id = any($1) and ($2::timestamptz is null or ends_at > $2)
		order by schedule_id, created_at, id`
	respondersSQL = `select id, tenant_id, name from responders where id = any($1)`
)

// each runs sql and calls scan for every row, wrapping any failure with what was read.
func each(ctx context.Context, q Querier, what, sql string, args []any, scan func(pgx.Rows) error) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("oncall: load %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("oncall: load %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("oncall: load %s: %w", what, err)
	}
	return nil
}

func (l *loader) readSchedules(ctx context.Context) error {
	return each(ctx, l.q, "schedules", schedulesSQL, []any{l.ids}, func(rows pgx.Rows) error {
		s := &Schedule{Responders: map[int64]Responder{}}
		var zone string
		if err := rows.Scan(&s.ID, &s.TenantID, &s.Name, &zone); err != nil {
			return err
		}
		ld := &loading{s: s}
		loc, err := civil.LoadLocation(zone)
		if err != nil {
			ld.problems = append(ld.problems, fmt.Sprintf("unknown time zone %q", zone))
		}
		s.Location = loc
		l.byID[s.ID] = ld
		return nil
	})
}

func (l *loader) readLayers(ctx context.Context) error {
	l.owner = map[int64]int64{}
	return each(ctx, l.q, "layers", layersSQL, []any{l.ids}, func(rows pgx.Rows) error {
		var (
			ly         Layer
			scheduleID int64
			unit       string
			ends       pgtype.Timestamptz
		)
		if err := rows.Scan(&ly.ID, &scheduleID, &ly.Name, &ly.Priority, &ly.RotationStart, &ly.ShiftLength, &unit, &ly.Participants, &ends); err != nil {
			return err
		}
		ly.ShiftUnit = Unit(unit)
		ld := l.byID[scheduleID]
		if ld == nil {
			return nil // the schedule row went away between the two reads
		}
		switch {
		case !ends.Valid || ends.InfinityModifier == pgtype.Infinity:
			// null or +infinity: the layer never ends
		case ends.InfinityModifier == pgtype.NegativeInfinity:
			ld.problems = append(ld.problems, fmt.Sprintf("layer %d: ends at -infinity", ly.ID))
		default:
			ly.EndsAt = ends.Time
		}
		for _, p := range ly.Participants {
			ld.refs = append(ld.refs, ref{p, fmt.Sprintf("layer %d: participant", ly.ID), emptyTurns})
		}
		ld.s.Layers = append(ld.s.Layers, ly)
		l.owner[ly.ID] = scheduleID
		return nil
	})
}

func (l *loader) readRestrictions(ctx context.Context) error {
	// Layers are complete now: index them by id (the slices no longer grow).
	for _, ld := range l.byID {
		for i := range ld.s.Layers {
			l.layerByID[ld.s.Layers[i].ID] = &ld.s.Layers[i]
		}
	}
	return each(ctx, l.q, "layer restrictions", restrictionsSQL, []any{l.ids}, func(rows pgx.Rows) error {
		var (
			layerID  int64
			day      *int16
			start    pgtype.Time
			duration pgtype.Interval
		)
		if err := rows.Scan(&layerID, &day, &start, &duration); err != nil {
			return err
		}
		ly := l.layerByID[layerID]
		if ly == nil {
			return nil // a layer added between the two reads
		}
		r := Restriction{StartTime: time.Duration(start.Microseconds) * time.Microsecond}
		if day != nil {
			r.StartDay = int(*day)
		}
		if duration.Months != 0 {
			ld := l.byID[l.owner[layerID]]
			ld.problems = append(ld.problems, fmt.Sprintf("layer %d: restriction duration %d months %d days: months have no fixed length", layerID, duration.Months, duration.Days))
		}
		r.Duration = time.Duration(duration.Days)*24*time.Hour + time.Duration(duration.Microseconds)*time.Microsecond
		ly.Restrictions = append(ly.Restrictions, r)
		return nil
	})
}

func (l *loader) readOverrides(ctx context.Context) error {
	return each(ctx, l.q, "overrides", overridesSQL, []any{l.ids, l.since}, func(rows pgx.Rows) error {
		var (
			o          Override
			scheduleID int64
			replaces   *int64
		)
		if err := rows.Scan(&o.ID, &scheduleID, &o.ResponderID, &replaces, &o.Start, &o.End, &o.CreatedAt); err != nil {
			return err
		}
		if replaces != nil {
			o.ReplacesResponderID = *replaces
		}
		ld := l.byID[scheduleID]
		if ld == nil {
			return nil
		}
		ld.refs = append(ld.refs, ref{o.ResponderID, fmt.Sprintf("override %d: responder", o.ID), ignored})
		if o.ReplacesResponderID != 0 {
			ld.refs = append(ld.refs, ref{o.ReplacesResponderID, fmt.Sprintf("override %d: replaced responder", o.ID), ignored})
		}
		ld.s.Overrides = append(ld.s.Overrides, o)
		return nil
	})
}

func (l *loader) readResponders(ctx context.Context) error {
	l.people = map[int64]person{}
	var ids []int64
	for _, ld := range l.byID {
		for _, r := range ld.refs {
			ids = append(ids, r.id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	return each(ctx, l.q, "responders", respondersSQL, []any{ids}, func(rows pgx.Rows) error {
		var p person
		if err := rows.Scan(&p.ID, &p.tenant, &p.Name); err != nil {
			return err
		}
		l.people[p.ID] = p
		return nil
	})
}

// finish fills Responders with the responders the schedule names that belong to its tenant,
// lists the others in Problems, and validates.
func (ld *loading) finish(people map[int64]person) error {
	s := ld.s
	for _, r := range ld.refs {
		if p, ok := people[r.id]; ok && p.tenant == s.TenantID {
			s.Responders[r.id] = p.Responder
			continue
		}
		// Missing or another tenant's: the same words, so that a tenant's report does not
		// tell it which ids other tenants have.
		s.Problems = append(s.Problems, fmt.Sprintf("%s %d is not a responder of tenant %q; %s", r.what, r.id, s.TenantID, r.effect))
	}
	slices.Sort(s.Problems)
	s.Problems = slices.Compact(s.Problems)
	if len(ld.problems) > 0 {
		return fmt.Errorf("oncall: schedule %d: %s: %w", s.ID, strings.Join(slices.Compact(ld.problems), "; "), ErrInvalid)
	}
	return s.Validate()
}

func sinceArg(since time.Time) *time.Time {
	if since.IsZero() {
		return nil
	}
	return &since
}
