package assets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"testing"
)

func TestFSHasTheUI(t *testing.T) {
	for _, name := range []string{"index.html", "app.js", "style.css"} {
		info, err := fs.Stat(FS(), name)
		if err != nil {
			t.Errorf("FS() lacks %s: %v", name, err)
			continue
		}
		if info.Size() == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

var (
	// attrRef finds src and href attribute values (quoted either way).
	attrRef = regexp.MustCompile(`(?i)\s(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
	// jsImport finds static and dynamic module specifiers:
	// import x from "./a.js"; import "./a.js"; export {x} from "./a.js"; import("./a.js").
	jsImport = regexp.MustCompile(`(?m)(?:^\s*(?:import|export)\b[^"'` + "`" + `;]*?\bfrom\s*|^\s*import\s*|\bimport\s*\(\s*)["']([^"']+)["']`)
	// cssRef finds url(...) and @import "..." references.
	cssRef = regexp.MustCompile(`(?i)url\(\s*["']?([^"')]+)["']?\s*\)|@import\s+["']([^"']+)["']`)
)

// checkRef fails unless ref, found in file from, names a file in fsys.
// Fragments and data: URIs are allowed; anything on another host is not.
func checkRef(t *testing.T, fsys fs.FS, from, ref string) {
	t.Helper()
	switch {
	case ref == "" || strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "data:"):
		return
	case strings.Contains(ref, "://") || strings.HasPrefix(ref, "//"):
		t.Errorf("%s references %q: the UI must not load anything from the network", from, ref)
		return
	}
	p := ref
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if strings.HasPrefix(p, "/") {
		p = strings.TrimPrefix(p, "/")
	} else {
		p = path.Join(path.Dir(from), p)
	}
	p = path.Clean(p)
	if _, err := fs.Stat(fsys, p); err != nil {
		t.Errorf("%s references %q, which is not in FS(): %v", from, ref, err)
	}
}

func matches(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		for _, g := range m[1:] {
			if g != "" {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

func TestIndexReferencesExist(t *testing.T) {
	fsys := FS()
	b, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := matches(attrRef, string(b))
	var sawScript, sawStyle bool
	for _, ref := range refs {
		checkRef(t, fsys, "index.html", ref)
		sawScript = sawScript || ref == "app.js"
		sawStyle = sawStyle || ref == "style.css"
	}
	if !sawScript || !sawStyle {
		t.Errorf("index.html should load app.js and style.css; it references %q", refs)
	}
}

// TestModulesResolve follows every JavaScript import and CSS reference,
// so a renamed or missing module fails here rather than in a browser.
func TestModulesResolve(t *testing.T) {
	fsys := FS()
	n := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		switch path.Ext(p) {
		case ".js":
			n++
			for _, ref := range matches(jsImport, string(b)) {
				if !strings.HasPrefix(ref, "./") && !strings.HasPrefix(ref, "../") && !strings.HasPrefix(ref, "/") {
					t.Errorf("%s imports %q: browsers need a relative or absolute URL", p, ref)
					continue
				}
				checkRef(t, fsys, p, ref)
			}
		case ".css":
			for _, ref := range matches(cssRef, string(b)) {
				checkRef(t, fsys, p, ref)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Errorf("found %d JavaScript files; expected app.js and its modules", n)
	}
}

// TestDOMHooks keeps the ids that app code and browser tests rely on.
func TestDOMHooks(t *testing.T) {
	b, err := fs.ReadFile(FS(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, id := range []string{"conn", "tree", "tree-list", "tree-status", "view", "view-title", "status", "sample-time", "stale-flag", "notice", "headlines", "grid"} {
		if !strings.Contains(html, `id="`+id+`"`) {
			t.Errorf("index.html lacks id=%q", id)
		}
	}
	if !strings.Contains(html, "<h1>Watchfloor</h1>") {
		t.Error("index.html lacks the Watchfloor header")
	}
	// Every id the scripts look up must exist in the page.
	byID := regexp.MustCompile(`getElementById\("([^"]+)"\)`)
	err = fs.WalkDir(FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		js, err := fs.ReadFile(FS(), p)
		if err != nil {
			return err
		}
		for _, id := range matches(byID, string(js)) {
			if !strings.Contains(html, `id="`+id+`"`) {
				t.Errorf("%s looks up #%s, which index.html lacks", p, id)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// encodeSegment is the gateway's path-segment encoding: every byte
// outside A-Za-z0-9-._~ becomes %XX, upper-case.
func encodeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// TestPathEncodingMatchesGateway runs paths.js under Node, when Node is
// installed, and compares its encoding with the gateway's byte for byte.
func TestPathEncodingMatchesGateway(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dir := t.TempDir()
	src, err := fs.ReadFile(FS(), "paths.js")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/paths.mjs", src, 0o644); err != nil {
		t.Fatal(err)
	}
	names := []string{
		"total", "/var/log/messages", "C:\\data", "a b", "100%", "#", "?x=1&y=2",
		"!'()*", "-._~", "é", "東京", "😀", "+", "row\x00nul", "", "tab\there",
	}
	in, _ := json.Marshal(names)
	script := `import {encodeSegment, cellPath, headlinePath, parseDataviewPath} from "./paths.mjs";
const names = JSON.parse(process.argv[2]);
const out = {
  segs: names.map(encodeSegment),
  cell: cellPath("p/e/s/d", "/", "a b"),
  head: headlinePath("p/e/s/d", "load 1"),
  keep: parseDataviewPath("p%2Fq/e/s/d").path,
  typed: parseDataviewPath("my probe/e%2f/s/d").path,
  bad: parseDataviewPath("p/e/s"),
};
console.log(JSON.stringify(out));`
	if err := os.WriteFile(dir+"/check.mjs", []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, dir+"/check.mjs", string(in))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got struct {
		Segs                    []string
		Cell, Head, Keep, Typed string
		Bad                     *struct{}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, name := range names {
		if want := encodeSegment(name); got.Segs[i] != want {
			t.Errorf("encodeSegment(%q) = %q, want %q", name, got.Segs[i], want)
		}
	}
	for _, c := range []struct{ got, want string }{
		{got.Cell, "p/e/s/d/%2F/a%20b"},
		{got.Head, "p/e/s/d/#/load%201"},
		{got.Keep, "p%2Fq/e/s/d"},
		{got.Typed, "my%20probe/e%2F/s/d"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if got.Bad != nil {
		t.Error("parseDataviewPath accepted a path of three segments")
	}
}
