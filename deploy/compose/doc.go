// Package compose is the container harness: behind the build tag docker, its tests build the
// real Dockerfile and bring compose.yaml up on a real Docker engine — replicas, kills, a
// database restart, a network cut, a stop — and assert from outside the containers, through the
// engine and the database.
//
//	go test -tags docker -v -timeout 60m ./deploy/...
//
// The harness installs Debian's docker.io and starts dockerd where no engine answers (as root,
// with a bounded wait), builds the compose and buildx CLI plugins from the Go module proxy
// (cached under /var/cache/opsworker-ci), and builds local stand-ins for the public base images
// (deploy/images), cached by the hash of their inputs. Where an engine cannot run at all (not
// root, or a kernel or sandbox without namespaces) it says so in one line and runs nothing;
// anything else that goes wrong fails.
//
// This file only carries the package comment: everything else is test code.
package compose
