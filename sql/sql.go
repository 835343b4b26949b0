// Package sql holds opsworker's database schema as files: the goose migrations and the demo data,
// embedded in the binary. Package schema applies them; nothing else imports this package, so no
// caller has to tell it from database/sql.
//
// The migrations are the schema contract of DESIGN.md: other services of the platform read and
// write these tables, so a migration may add but never silently rename or drop.
package sql

import (
	"embed"
	"io/fs"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the migration files, named NNNNN_what.sql, in goose's format.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the directory is embedded at build time; its absence is a build bug
	}
	return sub
}

// Demo is the demo data (demo.sql): see schema.LoadDemo.
//
//go:embed demo.sql
var Demo string
