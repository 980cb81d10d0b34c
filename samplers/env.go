package samplers

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// Env is what a netprobe's host lets its samplers touch: the directories
// under which they may read files (--allow-read) and run programs
// (--allow-exec). The gateway configures what a sampler watches, but only
// the host decides what it may reach, so a gateway cannot be made to read
// /etc/shadow or run commands on every server. The zero Env allows
// nothing. An Env is safe for concurrent use.
type Env struct {
	allowRead, allowExec []string // absolute, cleaned, symlinks resolved
}

// NewEnv returns the Env that allows reading under the read directories
// and running programs under the exec ones. Each must be an absolute path;
// symbolic links in them are resolved, so a link cannot later widen what
// they allow.
func NewEnv(read, exec []string) (Env, error) {
	var e Env
	var err error
	if e.allowRead, err = resolveDirs("--allow-read", read); err != nil {
		return Env{}, err
	}
	if e.allowExec, err = resolveDirs("--allow-exec", exec); err != nil {
		return Env{}, err
	}
	return e, nil
}

func resolveDirs(flag string, dirs []string) ([]string, error) {
	out := make([]string, 0, len(dirs))
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("%s %q: must be an absolute path", flag, d)
		}
		r, err := resolve(d)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", flag, d, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// CheckRead returns path with symbolic links resolved if it lies under a
// directory the host allows reading, and otherwise an error naming the
// path and the flag that would allow it. A path that does not exist yet
// (a log file still to be created) is judged by its nearest existing
// parent.
func (e Env) CheckRead(path string) (string, error) {
	return check("read", "--allow-read", e.allowRead, path)
}

// CheckExec is CheckRead for programs the host allows running.
func (e Env) CheckExec(path string) (string, error) {
	return check("run", "--allow-exec", e.allowExec, path)
}

// ErrNotAllowed is what CheckRead and CheckExec's errors wrap.
var ErrNotAllowed = errors.New("not allowed by the netprobe's host")

func check(verb, flag string, dirs []string, path string) (string, error) {
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("%s %q: must be an absolute path", verb, path)
	}
	r, err := resolve(path)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", verb, path, err)
	}
	for _, d := range dirs {
		if r == d || strings.HasPrefix(r, d) && (strings.HasSuffix(d, "/") || r[len(d)] == '/') {
			return r, nil
		}
	}
	if len(dirs) == 0 {
		return "", fmt.Errorf("%s %q: %w (the netprobe allows none; start it with %s DIR)", verb, path, ErrNotAllowed, flag)
	}
	return "", fmt.Errorf("%s %q: %w (the netprobe allows %s %s)", verb, path, ErrNotAllowed, flag, strings.Join(dirs, ","))
}

// resolve cleans an absolute path and resolves the symbolic links in the
// part of it that exists.
func resolve(path string) (string, error) {
	path = filepath.Clean(path)
	rest := ""
	for {
		r, err := filepath.EvalSymlinks(path)
		if err == nil {
			return filepath.Join(r, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(path)
		if parent == path {
			return "", err
		}
		rest = filepath.Join(filepath.Base(path), rest)
		path = parent
	}
}
