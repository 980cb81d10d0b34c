package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/store"
)

const backupUsage = `usage:
  gateway backup  [--config FILE] [--data FILE] OUT
  gateway restore [--config FILE] [--data FILE] IN

backup copies the gateway's database to OUT, consistently, whether the
gateway is running (it asks it through its control socket, DATA.sock) or
stopped. restore puts a backup back into a stopped gateway's data file,
keeping the file it replaces as DATA.before-restore; it refuses a backup
written by a newer Watchfloor, and a gateway that is running. --data
defaults to watchfloor.db beside --config.
`

// backup runs the gateway backup and restore subcommands.
func backup(verb string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gateway "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage) }
	cfgFile := fs.String("config", "", "the configuration `file`, beside which the store is")
	data := fs.String("data", "", "the store `file` (default: watchfloor.db beside the configuration)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	switch {
	case *data != "":
	case *cfgFile != "":
		*data = filepath.Join(filepath.Dir(*cfgFile), "watchfloor.db")
	default:
		fmt.Fprintln(stderr, "gateway "+verb+": give --data FILE or --config FILE")
		return 2
	}
	file := fs.Arg(0)
	var err error
	if verb == "backup" {
		err = backupTo(*data, file)
	} else {
		err = restoreFrom(*data, file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gateway %s: %v\n", verb, err)
		return 1
	}
	if verb == "backup" {
		fmt.Fprintf(stdout, "backed up %s to %s\n", *data, file)
	} else {
		fmt.Fprintf(stdout, "restored %s from %s (the file it replaced is %s.before-restore)\n", *data, file, *data)
	}
	return 0
}

// backupTo writes a backup of the store at data to out: through the
// running gateway's control socket, or from the file when no gateway
// holds it. out appears only once the whole copy is on disk.
func backupTo(data, out string) error {
	return writeAtomically(out, func(w io.Writer) error {
		c, err := net.DialTimeout("unix", gateway.ControlSocket(data), 5*time.Second)
		if err == nil {
			defer c.Close()
			return backupThrough(c, w)
		}
		st, oerr := store.Open(data)
		if oerr != nil {
			return fmt.Errorf("%w (and no gateway answers on %s: %v)", oerr, gateway.ControlSocket(data), err)
		}
		defer st.Close()
		return st.Backup(w)
	})
}

// backupThrough asks a running gateway for its backup.
func backupThrough(c net.Conn, w io.Writer) error {
	if _, err := io.WriteString(c, "backup\n"); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(backupIdle)) // the copy is made before the answer
	line, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("the gateway sent no answer (%w); see its log", err)
	}
	line = strings.TrimSuffix(line, "\n")
	if msg, ok := strings.CutPrefix(line, "error: "); ok {
		return errors.New("the gateway says " + msg)
	}
	size, err := strconv.ParseInt(strings.TrimPrefix(line, "ok "), 10, 64)
	if !strings.HasPrefix(line, "ok ") || err != nil || size <= 0 {
		return fmt.Errorf("the gateway answered %q, not a backup", line)
	}
	n, err := io.CopyN(w, idleReader{c, r}, size)
	if err != nil {
		return fmt.Errorf("the backup is cut short at %d of %d bytes: %w", n, size, err)
	}
	return nil
}

// backupIdle is how long the backup may go without a byte from the
// gateway before it is given up as hung.
const backupIdle = 30 * time.Second

// idleReader reads from r, buffered over c, giving up when c sends
// nothing for backupIdle.
type idleReader struct {
	c net.Conn
	r io.Reader
}

func (ir idleReader) Read(p []byte) (int, error) {
	_ = ir.c.SetReadDeadline(time.Now().Add(backupIdle))
	return ir.r.Read(p)
}

// writeAtomically writes a file through a temporary one beside it,
// synced and renamed into place only if write succeeds.
func writeAtomically(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func restoreFrom(data, in string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	return store.Restore(data, f)
}
