// Package actor names who makes a change and from where, for the audit
// log. Every service that records a change takes an Actor; handlers build
// it from the session (Of) or the API key (Key), jobs by name.
//
// It is a package of its own, importing only the store, so that every
// service (clients, calls, team, domains) can take the same type without
// importing one another: calls once imported clients for its Actor only.
package actor

import (
	"strings"

	"portico/store"
)

// Actor is who makes a change, and from where.
type Actor struct {
	// Name is how the audit log names them: a user's email,
	// "api:<key prefix>", or a job's name.
	Name string
	// User is the signed-in user, nil for an API key or a job. Services
	// that apply rules about the acting person (a team's owner, oneself)
	// need it.
	User *store.User
	// IP is the address the request came from; empty for a job.
	IP string
}

// Of is the signed-in user u acting from ip.
func Of(u *store.User, ip string) Actor {
	return Actor{Name: u.Email, User: u, IP: strings.Clone(ip)} // ip may alias the server's request buffer
}

// Key is the API key with the visible prefix acting from ip (never the
// key's secret).
func Key(prefix, ip string) Actor {
	return Actor{Name: "api:" + prefix, IP: strings.Clone(ip)}
}

// Job is a scheduled job or the operator's command line, named for the
// audit log.
func Job(name string) Actor { return Actor{Name: name} }
