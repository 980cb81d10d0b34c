package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tidwall/buntdb"
)

// Backup writes a consistent copy of a store file to w while the store is
// in use: every write committed before it began, and nothing of one
// committed after. Writes wait while the copy is made, in memory; none
// waits for w. Restore puts a copy back. A memory store keeps nothing to
// back up: ErrInvalid.
func (s *Store) Backup(w io.Writer) error {
	b, err := s.Snapshot()
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("back up the store: %w", err)
	}
	return nil
}

// Snapshot returns the consistent copy Backup writes, whole, so that a
// caller can tell its size before sending it.
func (s *Store) Snapshot() ([]byte, error) {
	var buf bytes.Buffer
	if err := s.kv.save(&buf); err != nil {
		return nil, fmt.Errorf("back up the store: %w", err)
	}
	return buf.Bytes(), nil
}

// Restore replaces the store file at path with a backup read from r, for
// a gateway that is stopped: while a gateway has the store open it holds
// its lock file, and Restore refuses. The backup is written to a new file
// beside path and opened as a store before it replaces anything; one that
// is cut short, is not a Watchfloor store or was written by a newer
// Watchfloor is refused, and path is left as it was. The file that was at
// path is kept as path+".before-restore", replacing an earlier one. A
// backup of an older schema is migrated when the gateway opens it.
func Restore(path string, r io.Reader) error {
	lock, err := lockFile(path + ".lock")
	if errors.Is(err, errLocked) {
		return fmt.Errorf("restore store %s: in use by a running gateway (%w)", path, err)
	}
	if err != nil {
		return fmt.Errorf("restore store %s: %w", path, err)
	}
	defer lock.Close()
	if err := restore(path, r); err != nil {
		return fmt.Errorf("restore store %s: %w", path, err)
	}
	return nil
}

func restore(path string, r io.Reader) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".restore-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	placed := false
	defer func() {
		if !placed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	size, err := io.Copy(f, r)
	if err != nil {
		return fmt.Errorf("write the backup to %s: %w", tmp, err)
	}
	if err := checkBackup(tmp, size); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write the backup to %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the backup to %s: %w", tmp, err)
	}
	// The old file stays at path until the rename replaces it, so that a
	// crash between the two leaves a store at path, not none.
	before := path + ".before-restore"
	switch _, err := os.Lstat(path); {
	case err == nil:
		if err := os.Remove(before); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("keep the old store: %w", err)
		}
		if err := os.Link(path, before); err != nil {
			return fmt.Errorf("keep the old store: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	placed = true
	return syncDir(dir)
}

// checkBackup opens the backup in the file at path, of size bytes, as Open
// would, and says why it is not a store this build can open.
func checkBackup(path string, size int64) error {
	db, err := buntdb.Open(path)
	if err != nil {
		return fmt.Errorf("the backup is not a Watchfloor store: %w", err)
	}
	err = inspect(db, path, size)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

func inspect(db *buntdb.DB, path string, size int64) error {
	// Nothing may rewrite the file while it is looked at.
	if err := db.SetConfig(buntdb.Config{SyncPolicy: buntdb.Never, AutoShrinkDisabled: true}); err != nil {
		return err
	}
	// buntdb cuts a last record that ends early off the file, and opens
	// what came before it.
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() != size {
		return errors.New("the backup ends inside a record: it is cut short, or not a Watchfloor store")
	}
	return (&bunt{db: db}).view(func(tx txn) error {
		v, err := schema(tx)
		if err == nil && v == 0 {
			err = errors.New("the backup is empty: it is not a Watchfloor store")
		}
		return err
	})
}

// syncDir fsyncs a directory, so that the names just made in it stay.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
