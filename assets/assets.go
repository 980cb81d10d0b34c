// Package assets holds the web UI, embedded in the binary.
//
// The UI is plain HTML, CSS and JavaScript (ES modules) under web/; it needs
// no build step and loads nothing from the network but the gateway's own
// REST API and WebSocket.
package assets

import (
	"embed"
	"io/fs"
)

//go:embed web
var web embed.FS

// FS returns the UI's files, rooted so that "index.html" is at the top.
func FS() fs.FS {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		// fs.Sub fails only for an invalid directory name; "web" is valid.
		panic(err)
	}
	return sub
}
