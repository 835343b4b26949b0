package schema

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// additiveMark, on a line of its own in a migration, declares it compatible with builds made for
// the schema before it: it only adds (tables, nullable columns, defaults, indexes), so code that
// does not know of it keeps working. See schema_compatibility in 00010_fleet.sql.
const additiveMark = "-- opsworker:additive"

// migration is what the guard needs of one embedded migration.
type migration struct {
	version  int64
	additive bool
}

var (
	embeddedOnce sync.Once
	embedded     []migration
	embeddedErr  error
)

// migrations lists the embedded migrations in order, read once.
func migrations() ([]migration, error) {
	embeddedOnce.Do(func() {
		entries, err := fs.ReadDir(Migrations(), ".")
		if err != nil {
			embeddedErr = err
			return
		}
		for _, e := range entries {
			name := e.Name()
			if path.Ext(name) != ".sql" {
				continue
			}
			num, _, _ := strings.Cut(name, "_")
			v, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				embeddedErr = fmt.Errorf("migration %s: no version number", name)
				return
			}
			f, err := Migrations().Open(name)
			if err != nil {
				embeddedErr = err
				return
			}
			m := migration{version: v}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if strings.TrimSpace(sc.Text()) == additiveMark {
					m.additive = true
				}
			}
			f.Close()
			embedded = append(embedded, m)
		}
	})
	return embedded, embeddedErr
}

// Version is the schema version this build is made for: its newest migration.
func Version() int64 {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		panic(fmt.Sprintf("schema: embedded migrations: %v", err)) // a build bug
	}
	return ms[len(ms)-1].version
}

// floors computes, for each embedded migration, the oldest build schema version that may run
// once it is applied.
func floors() ([]migration, []int64, error) {
	ms, err := migrations()
	if err != nil {
		return nil, nil, err
	}
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.version
		if m.additive && i > 0 {
			out[i] = out[i-1]
		}
	}
	return ms, out, nil
}

// recordCompatibility writes the floor of every embedded migration the database has applied
// (rows are facts about migrations: an existing one is kept).
func recordCompatibility(ctx context.Context, pool *pgxpool.Pool) error {
	ms, fl, err := floors()
	if err != nil {
		return err
	}
	versions := make([]int64, len(ms))
	for i, m := range ms {
		versions[i] = m.version
	}
	_, err = pool.Exec(ctx, `
insert into schema_compatibility (version, floor)
select v.version, v.floor
from unnest($1::bigint[], $2::bigint[]) as v (version, floor)
where exists (select 1 from goose_db_version g where g.version_id = v.version and g.is_applied)
on conflict (version) do nothing`, versions, fl)
	if err != nil {
		return fmt.Errorf("record schema compatibility: %w", err)
	}
	return nil
}

// State is where a database's schema stands against this build's.
type State struct {
	// Build is this build's schema version (Version).
	Build int64
	// Database is the newest migration the database has applied; 0 when it has none.
	Database int64
	// Floor is the oldest build schema version the database still serves: builds older than it
	// must stand down. When the database is at Build or older it is Database.
	Floor int64
	// RiverBuild and RiverDatabase are River's migration versions: this build's and the
	// database's.
	RiverBuild, RiverDatabase int
}

// Behind reports whether the database lacks migrations this build needs (opsworker's or River's).
func (s State) Behind() bool { return s.Database < s.Build || s.RiverDatabase < s.RiverBuild }

// Ahead reports whether the database has migrations this build does not carry.
func (s State) Ahead() bool { return s.Database > s.Build }

// Runnable reports whether this build may run its tasks and deliveries on the database: the
// schema is exactly its own, or newer but compatible with it (every newer migration additive).
func (s State) Runnable() bool { return !s.Behind() && s.Floor <= s.Build }

// String names both versions, for the one line an operator reads.
func (s State) String() string {
	switch {
	case s.Behind() && s.Database < s.Build:
		return fmt.Sprintf("database schema version %d is older than this build's %d: it needs migrating", s.Database, s.Build)
	case s.Behind():
		return fmt.Sprintf("database River schema version %d is older than this build's %d: it needs migrating", s.RiverDatabase, s.RiverBuild)
	case s.Ahead() && s.Floor > s.Build:
		return fmt.Sprintf("database schema version %d is newer than this build's %d and not compatible with it (it serves builds from schema version %d on): run the newer build", s.Database, s.Build, s.Floor)
	case s.Ahead():
		return fmt.Sprintf("database schema version %d is newer than this build's %d, and compatible with it", s.Database, s.Build)
	}
	return fmt.Sprintf("database schema version %d, this build's", s.Database)
}

// ReadState reads where the database's schema stands. A database never migrated is at 0.
func ReadState(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (State, error) {
	s := State{Build: Version(), RiverBuild: RiverVersion()}
	err := q.QueryRow(ctx, `
select coalesce((select max(version_id) from goose_db_version where is_applied and version_id > 0), 0)`).Scan(&s.Database)
	if isUndefinedTable(err) {
		return s, nil // never migrated: Database 0, Floor 0
	}
	if err != nil {
		return s, fmt.Errorf("read the schema version: %w", err)
	}
	s.Floor = s.Database
	if s.Database > s.Build {
		// A build older than schema_compatibility cannot tell; a newer one wrote the rows.
		err = q.QueryRow(ctx, `select coalesce((select floor from schema_compatibility where version = $1), $1)`, s.Database).Scan(&s.Floor)
		if isUndefinedTable(err) {
			s.Floor = s.Database
		} else if err != nil {
			return s, fmt.Errorf("read the schema's compatibility: %w", err)
		}
	}
	err = q.QueryRow(ctx, `select coalesce(max(version), 0) from river_migration where line = 'main'`).Scan(&s.RiverDatabase)
	if err != nil && !isUndefinedTable(err) {
		return s, fmt.Errorf("read River's schema version: %w", err)
	}
	return s, nil
}

func isUndefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}
