package samplers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree makes a directory with an allowed and an outside part, a file in
// each, and links from the allowed part to both:
//
//	allowed/file
//	allowed/sub/
//	allowed/in -> allowed/file
//	allowed/out -> outside/secret
//	allowed/outdir -> outside
//	allowedish/file   (shares allowed's name as a prefix)
//	outside/secret
//
// It returns the root with its own symbolic links resolved, so paths
// built from it are what CheckRead returns.
func tree(t *testing.T) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"allowed/sub", "allowedish", "outside"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"allowed/file", "allowedish/file", "outside/secret"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"allowed/in":     filepath.Join(root, "allowed/file"),
		"allowed/out":    filepath.Join(root, "outside/secret"),
		"allowed/outdir": filepath.Join(root, "outside"),
	}
	for link, target := range links {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestEnvCheckRead(t *testing.T) {
	root := tree(t)
	env, err := NewEnv([]string{filepath.Join(root, "allowed")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(name, path, resolved string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			got, err := env.CheckRead(path)
			if err != nil {
				t.Fatalf("CheckRead(%s): %v", path, err)
			}
			if got != resolved {
				t.Errorf("CheckRead(%s) = %s, want %s", path, got, resolved)
			}
		})
	}
	refused := func(name, path string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			got, err := env.CheckRead(path)
			if err == nil {
				t.Fatalf("CheckRead(%s) = %s, want an error", path, got)
			}
			if !errors.Is(err, ErrNotAllowed) {
				t.Errorf("CheckRead(%s): %v, want ErrNotAllowed", path, err)
			}
			if !strings.Contains(err.Error(), "--allow-read "+filepath.Join(root, "allowed")) {
				t.Errorf("CheckRead(%s): %q does not say what the netprobe allows", path, err)
			}
		})
	}
	allowed("file inside", filepath.Join(root, "allowed/file"), filepath.Join(root, "allowed/file"))
	allowed("the directory itself", filepath.Join(root, "allowed"), filepath.Join(root, "allowed"))
	allowed("unclean path inside", filepath.Join(root, "allowed")+"/./sub//../file", filepath.Join(root, "allowed/file"))
	allowed("link to a file inside", filepath.Join(root, "allowed/in"), filepath.Join(root, "allowed/file"))
	allowed("file not created yet", filepath.Join(root, "allowed/new.log"), filepath.Join(root, "allowed/new.log"))
	allowed("file in directories not created yet", filepath.Join(root, "allowed/a/b/new.log"), filepath.Join(root, "allowed/a/b/new.log"))

	refused("file outside", filepath.Join(root, "outside/secret"))
	refused("parent of the directory", root)
	refused("dot-dot out of the directory", filepath.Join(root, "allowed")+"/../outside/secret")
	refused("dot-dot out and back beside it", filepath.Join(root, "allowed")+"/sub/../../allowedish/file")
	refused("a name that only starts like the directory", filepath.Join(root, "allowedish/file"))
	refused("link inside to a file outside", filepath.Join(root, "allowed/out"))
	refused("link inside to a directory outside", filepath.Join(root, "allowed/outdir/secret"))
	refused("new file through a link to outside", filepath.Join(root, "allowed/outdir/new.log"))
	refused("system file", "/etc/shadow")
}

// A zero Env, what a netprobe started with no flags has, allows nothing,
// and its errors name the flag that would allow the path.
func TestZeroEnvAllowsNothing(t *testing.T) {
	var env Env
	for _, path := range []string{"/etc/hosts", "/", "/proc/self/status", "/no/such/file"} {
		if _, err := env.CheckRead(path); !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), "--allow-read DIR") {
			t.Errorf("zero Env CheckRead(%s): %v, want ErrNotAllowed naming --allow-read", path, err)
		}
		if _, err := env.CheckExec(path); !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), "--allow-exec DIR") {
			t.Errorf("zero Env CheckExec(%s): %v, want ErrNotAllowed naming --allow-exec", path, err)
		}
	}
}

// Reading and running are allowed apart: a directory allowed for one is
// not allowed for the other.
func TestEnvReadAndExecApart(t *testing.T) {
	root := tree(t)
	env, err := NewEnv([]string{filepath.Join(root, "allowed")}, []string{filepath.Join(root, "outside")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.CheckExec(filepath.Join(root, "allowed/file")); !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), "--allow-exec") {
		t.Errorf("CheckExec of a read-only directory's file: %v, want refused naming --allow-exec", err)
	}
	if _, err := env.CheckRead(filepath.Join(root, "outside/secret")); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("CheckRead of an exec-only directory's file: %v, want refused", err)
	}
	if _, err := env.CheckExec(filepath.Join(root, "outside/secret")); err != nil {
		t.Errorf("CheckExec inside --allow-exec: %v", err)
	}
}

func TestEnvRootAllowsEverything(t *testing.T) {
	root := tree(t)
	env, err := NewEnv([]string{"/"}, []string{"/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/etc/hosts", filepath.Join(root, "outside/secret"), filepath.Join(root, "allowed/out"), "/no/such/file"} {
		if _, err := env.CheckRead(path); err != nil {
			t.Errorf("--allow-read / CheckRead(%s): %v", path, err)
		}
		if _, err := env.CheckExec(path); err != nil {
			t.Errorf("--allow-exec / CheckExec(%s): %v", path, err)
		}
	}
}

func TestEnvRelativePaths(t *testing.T) {
	if _, err := NewEnv([]string{"var/log"}, nil); err == nil || !strings.Contains(err.Error(), "--allow-read") || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("NewEnv with a relative read directory: %v, want an error naming --allow-read", err)
	}
	if _, err := NewEnv(nil, []string{"./bin"}); err == nil || !strings.Contains(err.Error(), "--allow-exec") || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("NewEnv with a relative exec directory: %v, want an error naming --allow-exec", err)
	}
	env, err := NewEnv([]string{"/"}, []string{"/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"etc/hosts", "./file", "../file", ""} {
		if _, err := env.CheckRead(path); err == nil || !strings.Contains(err.Error(), "absolute") {
			t.Errorf("CheckRead(%q) even with / allowed: %v, want a relative path refused", path, err)
		}
		if _, err := env.CheckExec(path); err == nil || !strings.Contains(err.Error(), "absolute") {
			t.Errorf("CheckExec(%q) even with / allowed: %v, want a relative path refused", path, err)
		}
	}
}

// A directory given through a symbolic link is resolved when the Env is
// made: changing the link afterwards does not change what is allowed.
func TestEnvResolvesLinkedDirectories(t *testing.T) {
	root := tree(t)
	link := filepath.Join(root, "link")
	if err := os.Symlink(filepath.Join(root, "allowed"), link); err != nil {
		t.Fatal(err)
	}
	env, err := NewEnv([]string{link}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := env.CheckRead(filepath.Join(link, "file")); err != nil || got != filepath.Join(root, "allowed/file") {
		t.Errorf("CheckRead through the linked directory = %s, %v; want %s", got, err, filepath.Join(root, "allowed/file"))
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "outside"), link); err != nil {
		t.Fatal(err)
	}
	if _, err := env.CheckRead(filepath.Join(link, "secret")); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("CheckRead after the link was pointed outside: %v, want refused", err)
	}
}
