package store

// Keys returns the keys of s under prefix, in order: what writes left in
// the store, for tests that look under its API.
func Keys(s *Store, prefix string) []string {
	var keys []string
	s.kv.view(func(tx txn) error {
		return tx.ascend(prefix, func(k, _ string) bool { keys = append(keys, k); return true })
	})
	return keys
}

// FailWrites makes the transactions of s fail to write any key under
// prefix, as a full disk would fail them, until the function it returns
// is called. Nothing else may use s meanwhile.
func FailWrites(s *Store, prefix string) (restore func()) {
	good := s.kv
	s.kv = failing{good, prefix}
	return func() { s.kv = good }
}

// ErrDiskFull is the error of the writes FailWrites fails.
var ErrDiskFull = errDiskFull
