package assets

import (
	"io/fs"
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

// pages returns every HTML page in fsys with the scripts it loads itself
// (its page scripts, as opposed to the modules they import).
func pages(t *testing.T, fsys fs.FS) map[string][]string {
	t.Helper()
	out := make(map[string][]string)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) != ".html" {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		var scripts []string
		for _, src := range matches(scriptSrc, string(b)) {
			scripts = append(scripts, path.Join(path.Dir(name), src))
		}
		out[name] = scripts
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// scriptSrc finds the scripts a page loads.
var scriptSrc = regexp.MustCompile(`(?i)<script\b[^>]*\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)')`)

// TestPagesReferenceExist checks that every page (the dashboard and the
// modules' test page) loads only files the UI has, from its own origin.
func TestPagesReferenceExist(t *testing.T) {
	fsys := FS()
	all := pages(t, fsys)
	if _, ok := all["test/index.html"]; !ok {
		t.Errorf("FS() lacks the modules' test page test/index.html; pages: %v", all)
	}
	for name := range all {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range matches(attrRef, string(b)) {
			checkRef(t, fsys, name, ref)
		}
	}
	b, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := matches(attrRef, string(b))
	var sawScript, sawStyle bool
	for _, ref := range refs {
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

var (
	// byID finds element lookups by id.
	byID = regexp.MustCompile(`getElementById\(\s*["']([^"']+)["']\s*\)|querySelector(?:All)?\(\s*["']#([^"'\s.[:>]+)`)
	// idAttr finds the ids a page declares.
	idAttr = regexp.MustCompile(`\sid="([^"]+)"`)
)

// TestDOMHooks keeps the page shell's layout that app code, browser tests
// and people rely on, and keeps fixed ids out of components: only a page's
// own scripts look elements up by id, and only ids their page has.
// Components draw into the root element they are given.
func TestDOMHooks(t *testing.T) {
	fsys := FS()
	b, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{
		`<h1>Watchfloor</h1>`,
		`<a class="skip-link" href="#view">`,
		`id="conn" class="conn" role="status"`,
		`<div id="trading-day" class="trading-day"`,
		`<nav id="tree"`,
		`<main id="view"`,
		`id="gateway-notice"`,
		`id="user-badge"`,
		`<button id="logout"`,
		`id="change-password-link" href="#/account/password"`,
		`id="admin-screens-link" href="#/admin/screens" data-permission="manage-kiosks"`,
		`id="admin-users-link" href="#/admin/users" data-permission="manage-users"`,
		`id="admin-audit-link" href="#/admin/audit" data-permission="read-audit"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}

	idsOf := make(map[string]map[string]bool) // page script -> ids its page has
	for page, scripts := range pages(t, fsys) {
		b, err := fs.ReadFile(fsys, page)
		if err != nil {
			t.Fatal(err)
		}
		ids := make(map[string]bool)
		for _, id := range matches(idAttr, string(b)) {
			ids[id] = true
		}
		for _, s := range scripts {
			idsOf[s] = ids
		}
	}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		js, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		ids, isPageScript := idsOf[p]
		for _, id := range matches(byID, string(js)) {
			switch {
			case !isPageScript:
				t.Errorf("%s looks up #%s: a component must draw into the root it is given", p, id)
			case !ids[id]:
				t.Errorf("%s looks up #%s, which its page lacks", p, id)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(idsOf["app.js"]) == 0 {
		t.Error("app.js is not the page script of index.html")
	}
}

var (
	scriptTag   = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	handlerAttr = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
)

// TestLoginPage keeps the login page within what the gateway serves
// without a session, and keeps the hooks password managers, people and
// browser tests rely on.
func TestLoginPage(t *testing.T) {
	fsys := FS()
	public := make(map[string]bool)
	for _, name := range PublicFiles() {
		if _, err := fs.Stat(fsys, name); err != nil {
			t.Errorf("public file %s: %v", name, err)
		}
		public[name] = true
	}
	b, err := fs.ReadFile(fsys, "login.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, ref := range matches(attrRef, html) {
		if !strings.HasPrefix(ref, "/") || !public[strings.TrimPrefix(ref, "/")] {
			t.Errorf("login.html references %q: it may load only /%s, by absolute path (it is served at /login)", ref, strings.Join(PublicFiles(), ", /"))
		}
	}
	for _, tag := range scriptTag.FindAllString(html, -1) {
		if !strings.Contains(strings.ToLower(tag), "src=") {
			t.Errorf("login.html has an inline script (%s): a content security policy would block it", tag)
		}
	}
	if h := handlerAttr.FindString(html); h != "" {
		t.Errorf("login.html has an inline event handler (%s): a content security policy would block it", strings.TrimSpace(h))
	}
	for _, want := range []string{
		`<form id="login-form"`,
		`method="post" action="/api/v1/login"`,
		`name="next"`,
		`name="user" type="text" autocomplete="username"`,
		`name="password" type="password" autocomplete="current-password"`,
		`autofocus`,
		`id="login-error"`,
		`role="alert"`,
		`id="login-submit"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("login.html lacks %s", want)
		}
	}
	js, err := fs.ReadFile(fsys, "login.js")
	if err != nil {
		t.Fatal(err)
	}
	if refs := matches(jsImport, string(js)); len(refs) > 0 {
		t.Errorf("login.js imports %q, which the gateway does not serve before login", refs)
	}
}
