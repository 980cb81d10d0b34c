// Package assets holds the web UI, embedded in the binary.
//
// The UI is plain HTML, CSS and JavaScript (ES modules) under web/; it needs
// no build step and loads nothing from the network but the gateway's own
// WebSocket (docs/dashboard-protocol.md) and API. app.js is the page
// shell; the modules it wires together are:
//
//   - conn.js: the WebSocket, reconnecting with jittered backoff
//   - store.js: subscriptions over it, counted per topic, with each topic's
//     model (topics.js, dataview-model.js, tree-model.js)
//   - session.js: who is logged in, and the one helper every API call goes
//     through, which sends the browser to log in when the session ends
//   - router.js: one view at a time by location hash (views/, the
//     administration views among them)
//   - grid.js, tree.js: components that draw into the element they are given
//   - ui.js: builders for the form and table views
//   - paths.js, severity.js: path encoding, and severity shown by shape,
//     word and colour
//
// login.html and login.js are the login page. It is served without a
// session, so it loads only PublicFiles() and login.js imports nothing.
//
// web/test/ is the modules' own test page, which gateway/internal/webtest
// runs in headless Chromium.
package assets

import (
	"embed"
	"io/fs"
)

//go:embed web
var web embed.FS

// PublicFiles returns the names in FS() of the files the gateway serves
// without a session: the login page and all it loads.
func PublicFiles() []string {
	return []string{"login.html", "login.js", "style.css", "favicon.svg"}
}

// FS returns the UI's files, rooted so that "index.html" is at the top.
func FS() fs.FS {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		// fs.Sub fails only for an invalid directory name; "web" is valid.
		panic(err)
	}
	return sub
}
