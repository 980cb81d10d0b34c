// Package webtest holds the browser tests of the dashboard's JavaScript:
// it opens assets/web/test/index.html, the modules' own test page, in
// headless Chromium and reports each failing JavaScript test by name, and
// it checks the page's path encoding against the gateway's real encoder,
// served by a running gateway. It has no code outside its tests.
package webtest
