// Package console is opsworker's read-only web console and JSON API, served by `opsworker serve`
// on HTTP_ADDR: what the worker did and will do, without psql.
//
// Pages (under /ui/) are rendered on the server with html/template, charts as SVG computed by
// package chart; the style sheet is embedded, no page runs a script, and nothing is loaded from
// another host. River UI, for the delivery queue, is mounted under /ui/river/. The JSON API is
// under /api/v1/. Every path is behind HTTP basic authentication (CONSOLE_USERS: user names and
// bcrypt hashes), answers 404 when no user is configured, carries a strict
// Content-Security-Policy, and accepts GET and HEAD only.
//
// Pages are written for people: run summaries and alert events are said as sentences, with
// names and links where the data holds ids, and every page shows its times in one zone, named in
// its header (see pageZone). Handlers compute everything at the server's clock (Options.Now), so
// tests drive time. The run history is read through package scheduler (which owns its table),
// schedules through package oncall; the rest are index range scans of the schema's tables.
package console
