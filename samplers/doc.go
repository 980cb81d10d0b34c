// Package samplers defines what a sampler is and what it produces: the
// Sampler interface, the dataview a sample fills in, the cell paths that
// address every value, the host's Env of what samplers may read and run,
// and the registry that builds a sampler from its type name and
// parameters.
//
// Each sampler type lives in a subpackage of its own (cpu, memory, …) with
// an embedded sample configuration that documents it, reaches the
// operating system through a narrow interface of its own, calls Step after
// each access so that a cancelled sample stops there, and passes the
// samplertest contract from its tests. Importing samplers/all registers
// every type.
package samplers
