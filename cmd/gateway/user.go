package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/auth"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/store"
)

const userUsage = `usage:
  gateway user add    [--config FILE] [--data FILE] --roles R[,R…] [--scope ATTR=V[|V…]] NAME
  gateway user passwd [--config FILE] [--data FILE] NAME
  gateway user disable|enable [--config FILE] [--data FILE] NAME
  gateway user list   [--config FILE] [--data FILE]
  gateway user hash

add and passwd read the password from the first line of standard input;
hash reads one and prints its argon2id hash for a password_hash in the
configuration. The others work on the gateway's database while the
gateway is stopped (it holds the file locked while it runs; use the API,
/api/v1/users, then). --config gives the roles and the users the
configuration defines; --data defaults to watchfloor.db beside it.
`

// user runs the gateway user subcommands; stdin gives passwords.
func user(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return 2
	}
	verb, args := args[0], args[1:]
	if verb == "hash" {
		pw, err := readPassword(stdin)
		if err == nil {
			var h string
			if h, err = access.HashPassword(pw); err == nil {
				fmt.Fprintln(stdout, h)
				return 0
			}
		}
		fmt.Fprintln(stderr, "gateway user hash:", err)
		return 1
	}
	fs := flag.NewFlagSet("gateway user "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "configuration `file`: its roles and users")
	data := fs.String("data", "", "the store `file` (default: watchfloor.db beside the configuration)")
	var roles, scope *string
	if verb == "add" {
		roles = fs.String("roles", "", "comma-separated `roles`")
		scope = fs.String("scope", "", "what the user sees: `attribute=value`, values separated by |")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	want := 1
	if verb == "list" {
		want = 0
	}
	if fs.NArg() != want {
		fmt.Fprint(stderr, userUsage)
		return 2
	}
	name := fs.Arg(0)
	cfg := &config.Config{}
	if *cfgFile != "" {
		var err error
		if cfg, err = config.Load(*cfgFile); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if *data == "" {
			*data = filepath.Join(filepath.Dir(*cfgFile), "watchfloor.db")
		}
	}
	if *data == "" {
		fmt.Fprintln(stderr, "gateway user: --config or --data is required")
		return 2
	}
	st, err := store.Open(*data)
	if err != nil {
		fmt.Fprintln(stderr, "gateway user:", err)
		return 1
	}
	defer st.Close()
	by := "gateway user " + verb
	switch verb {
	case "add":
		u := store.User{Name: name, Roles: splitList(*roles)}
		if u.Scope, err = auth.ParseScope(*scope); err == nil {
			var pw string
			if pw, err = readPassword(stdin); err == nil {
				err = auth.AddUser(st, cfg, u, pw, by)
			}
		}
	case "passwd":
		var pw string
		if pw, err = readPassword(stdin); err == nil {
			err = auth.SetPassword(st, cfg, name, pw, by)
		}
	case "disable", "enable":
		err = auth.SetDisabled(st, cfg, name, verb == "disable", by)
	case "list":
		err = listUsers(st, cfg, stdout)
	default:
		fmt.Fprintf(stderr, "gateway user: unknown command %q\n%s", verb, userUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "gateway user %s: %v\n", verb, err)
		return 1
	}
	return 0
}

func listUsers(st *store.Store, cfg *config.Config, w io.Writer) error {
	users, err := auth.ListUsers(st, cfg)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSOURCE\tROLES\tSCOPE\tSTATE")
	for _, u := range users {
		state := "enabled"
		switch {
		case u.Disabled:
			state = "disabled"
		case !u.HasPassword:
			state = "no password"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Source, strings.Join(u.Roles, ","), orAll(u.Scope), state)
	}
	return tw.Flush()
}

func orAll(scope string) string {
	if scope == "" {
		return "(all)"
	}
	return scope
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// readPassword reads the first line of r: a password piped in, never a
// command-line argument, which other users of the machine could see.
func readPassword(r io.Reader) (string, error) {
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return "", errors.New("pipe the password in (printf '%s' \"$PW\" | gateway user …), so it is not echoed or kept in the shell's history")
		}
	}
	line, err := bufio.NewReader(io.LimitReader(r, access.MaxPassword+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}
