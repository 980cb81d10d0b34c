package tlsconf

// ProbeCertAt is ProbeCert at a time of the test's choosing.
var ProbeCertAt = (*Server).probeCertAt
