// Package dbtest gives each test its own PostgreSQL database with opsworker's migrations applied,
// dropped when the test ends. Tests run against a real server, never a mock.
//
// The server is TEST_DATABASE_URL (default: the local server, user postgres). The first test of a
// process migrates a template database named after a hash of the migrations; every test then
// clones it with CREATE DATABASE ... TEMPLATE, which costs milliseconds instead of a full
// migration. Concurrent test processes (go test runs packages in parallel) serialise the template
// build on an advisory lock.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/redact"
	"github.com/opsworker/opsworker/schema"
)

// DefaultURL is the server tests use when TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// ServerURL returns the URL of the server tests create their databases on.
func ServerURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// NewURL creates a fresh, migrated database for t and returns its connection URL. The database
// is dropped (with FORCE, so forgotten connections do not keep it alive) when t ends.
func NewURL(t testing.TB) string {
	t.Helper()
	server := ServerURL()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(server) })
	if templateErr != nil {
		t.Fatalf("dbtest: %v", templateErr)
	}
	return create(t, templateName)
}

func create(t testing.TB, template string) string {
	t.Helper()
	server := ServerURL()
	name := "opsworker_test_" + randomSuffix()
	if err := admin(server, fmt.Sprintf("create database %s template %s", name, template)); err != nil {
		t.Fatalf("dbtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := admin(server, "drop database if exists "+name+" with (force)"); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(server, name)
}

// NewEmptyURL creates a fresh database without any migration, for tests of migrating itself
// (over rows older migrations allowed), and returns its URL. It is dropped when t ends.
func NewEmptyURL(t testing.TB) string {
	t.Helper()
	return create(t, "template0")
}

// New creates a fresh, migrated database for t and returns a pool on it, closed when t ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return NewPool(t, NewURL(t))
}

// NewPool returns a pool on the database at dbURL, closed when t ends.
func NewPool(t testing.TB, dbURL string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	t.Cleanup(pool.Close) // registered after the drop, so it runs before it
	return pool
}

// ensureTemplate builds the migrated template database once per migration set.
func ensureTemplate(server string) (string, error) {
	sum, err := schema.Fingerprint()
	if err != nil {
		return "", err
	}
	name := "opsworker_tmpl_" + sum
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := connect(ctx, server)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	// Session-level lock: released when conn closes, even if this process dies mid-build.
	if _, err := conn.Exec(ctx, "select pg_advisory_lock(hashtext('opsworker sqltest template'))"); err != nil {
		return "", fmt.Errorf("lock template: %w", err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "select exists(select 1 from pg_database where datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("find template: %w", err)
	}
	if exists {
		return name, nil
	}
	// Build under a temporary name and rename at the end, so a half-built template from a
	// crashed run is never mistaken for a finished one.
	building := name + "_building"
	for _, stmt := range []string{
		"drop database if exists " + building + " with (force)",
		"create database " + building,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return "", fmt.Errorf("template: %s: %w", stmt, err)
		}
	}
	pool, err := pgxpool.New(ctx, withDatabase(server, building))
	if err != nil {
		return "", fmt.Errorf("template: connect: %w", err)
	}
	_, err = schema.Migrate(ctx, pool)
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	if _, err := conn.Exec(ctx, "alter database "+building+" rename to "+name); err != nil {
		return "", fmt.Errorf("template: rename: %w", err)
	}
	return name, nil
}

func admin(server, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := connect(ctx, server)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

func connect(ctx context.Context, server string) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, server)
	if err != nil {
		return nil, fmt.Errorf("no PostgreSQL answers at %s (set TEST_DATABASE_URL to a server where the user may create databases): %w", redact.ConnString(server), err)
	}
	return conn, nil
}

// withDatabase returns server with its database name replaced by name.
func withDatabase(server, name string) string {
	u, err := url.Parse(server)
	if err != nil || u.Scheme == "" {
		// A keyword/value connection string: a later dbname wins.
		return server + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%d_%s", os.Getpid(), hex.EncodeToString(b))
}

// Exec runs sql on pool and fails t if it errs: test fixtures insert rows with it.
func Exec(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Int64 runs a query returning one integer (an inserted id, a count) and fails t if it errs.
func Int64(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Explain returns the plan PostgreSQL chooses for sql with args (EXPLAIN, as text), for tests
// that check a query reads through its indexes. It executes nothing.
func Explain(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) string {
	t.Helper()
	rows, err := pool.Query(context.Background(), "explain "+sql, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	return strings.Join(lines, "\n")
}
