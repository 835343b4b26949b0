// Package heartbeats watches heartbeat monitors: jobs (backups, cron jobs, batch imports) that
// must ping {HTTP_ADDR}/heartbeat/<token> at least every interval. The heartbeats task opens one
// alert for a monitor silent longer than its interval (source heartbeat, the monitor's escalation
// policy, due at once, so escalation pages whoever is on call within a second), and resolves it
// when pings return (event resolved, {"via":"heartbeat"}). One alert per outage, across
// replicas: a monitor holds its open alert (heartbeat_monitors.alert_id), claimed with FOR UPDATE
// SKIP LOCKED. A monitor that has never pinged is silent only one interval after its creation;
// a disabled one records pings but never alerts.
//
// Handler serves the pings. The token is the credential: it is looked up by its SHA-256 digest
// (so the lookup's time says nothing about how close a guess came), compared in constant time,
// and never logged. List says how each monitor is doing, for the CLI and the console.
package heartbeats
