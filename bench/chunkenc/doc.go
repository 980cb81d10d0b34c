// Package chunkenc compares the gateway's history chunk encoding
// (gateway/history/chunk) with Prometheus' tsdb/chunkenc float chunks on
// the same data sets (gateway/history/chunk/chunktest): bytes per point,
// and the time to append and to read back a point. It is its own module
// so that the gateway never depends on Prometheus; it has only
// benchmarks and the test that the encodings agree on the data.
package chunkenc
