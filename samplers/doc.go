// Package samplers defines what a sampler is and what it produces: the
// Sampler interface, the dataview a sample fills in, the cell paths that
// address every value, and the registry that builds a sampler from its
// type name and parameters.
//
// Each sampler type lives in a subpackage of its own (cpu, memory, …) with
// an embedded sample configuration that documents it. Importing
// samplers/all registers every type.
package samplers
