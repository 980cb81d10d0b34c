package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
)

// commandPATH is the only PATH a command gets.
const commandPATH = "/usr/bin:/bin"

// waitDelay is how long a command's output may stay open after it exits
// (held by a process it left behind) before it is closed on them.
const waitDelay = time.Second

// command runs a program for each message.
type command struct {
	path string // symlinks resolved, under an AllowExec directory
	args []string
}

var _ sender = (*command)(nil)

func newCommand(c *config.CommandAction, f *files, dirs []string) (*command, []error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, arg := range c.Args {
		if strings.ContainsRune(arg, 0) {
			fail("args: %q has a NUL byte", arg)
		}
	}
	switch {
	case c.Path == "":
		fail("path: missing")
	case !filepath.IsAbs(c.Path):
		fail("path: %s is not absolute", c.Path)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	real, err := filepath.EvalSymlinks(c.Path)
	if err != nil {
		return nil, []error{fmt.Errorf("path: %w", err)}
	}
	if !under(real, dirs) {
		what := c.Path
		if real != c.Path {
			what = fmt.Sprintf("%s (a link to %s)", c.Path, real)
		}
		if len(dirs) == 0 {
			return nil, []error{fmt.Errorf("path: %s: no action_dirs are configured to run programs from", what)}
		}
		return nil, []error{fmt.Errorf("path: %s is not under any of action_dirs %s", what, strings.Join(dirs, ", "))}
	}
	st, err := os.Stat(real)
	switch {
	case err != nil:
		fail("path: %v", err)
	case !st.Mode().IsRegular():
		fail("path: %s is not a regular file", real)
	case st.Mode().Perm()&0o111 == 0:
		fail("path: %s is not executable", real)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	f.note(real)
	return &command{path: real, args: c.Args}, nil
}

// under reports whether path lies inside one of dirs.
func under(path string, dirs []string) bool {
	for _, dir := range dirs {
		rel, err := filepath.Rel(dir, path)
		if err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func (c *command) prepare(m Message, _ time.Time) (func(ctx context.Context) error, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	env := commandEnv(m)
	return func(ctx context.Context) error { return c.run(ctx, env, body) }, nil
}

func (c *command) close() {}

// run runs the program once, in a process group of its own that is
// killed whole if ctx ends first.
func (c *command) run(ctx context.Context, env []string, stdin []byte) error {
	// Checked again, so that a file swapped for a link since the load is
	// refused too.
	if real, err := filepath.EvalSymlinks(c.path); err != nil || real != c.path {
		return permanent(fmt.Errorf("%s: no longer the file checked when the configuration was loaded", c.path))
	}
	cmd := exec.CommandContext(ctx, c.path, c.args...)
	cmd.Dir = filepath.Dir(c.path)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	stderr := &head{limit: snippetSize}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	ownGroup(cmd)
	err := cmd.Run()
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay): // exited 0
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w: killed with its process group; stderr %q", c.path, context.Cause(ctx), stderr)
	default:
		return fmt.Errorf("%s: %w; stderr %q", c.path, err, stderr)
	}
}

// commandEnv is the whole environment a command gets.
func commandEnv(m Message) []string {
	inc := &m.Incident
	level := ""
	if m.Level > 0 {
		level = strconv.Itoa(m.Level)
	}
	vars := [][2]string{
		{"EVENT", string(m.Event)},
		{"INCIDENT_ID", inc.ID},
		{"STATE", string(inc.State)},
		{"SEVERITY", inc.Severity.String()},
		{"TITLE", inc.Title},
		{"RULE", inc.Rule},
		{"PATH", inc.Path},
		{"PROBE", inc.Probe},
		{"ENTITY", inc.Entity},
		{"CLIENT", inc.Client},
		{"VALUE", inc.Value},
		{"URL", m.URL},
		{"LEVEL", level},
	}
	env := make([]string, 0, len(vars)+1)
	env = append(env, "PATH="+commandPATH)
	for _, v := range vars {
		env = append(env, "WATCHFLOOR_"+v[0]+"="+strings.ReplaceAll(v[1], "\x00", ""))
	}
	return env
}

// head keeps the first limit bytes written to it, and takes the rest
// without keeping it.
type head struct {
	b     []byte
	limit int
}

func (h *head) Write(p []byte) (int, error) {
	if room := h.limit - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *head) String() string { return strings.TrimSpace(string(h.b)) }
