// Package authcost measures what access control costs the gateway: a
// session check beside a whole authenticated request, a netprobe's token
// check, and a password hash. It is benchmarks only; docs/benchmarks.md
// ("Issue 8: access control") has the commands and the figures.
package authcost
