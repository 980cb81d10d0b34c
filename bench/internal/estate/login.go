package estate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/watchfloor/watchfloor/gateway/auth"
)

// Login logs user in with Password at the gateway at addr (its host:port,
// plain HTTP on loopback) through POST /api/v1/login, as the login page
// does, and returns the session's cookie, "watchfloor_session=…", for the
// Cookie header of a dashboard's WebSocket dial or of a request.
//
// Log a program's sessions in one after another: the gateway counts a
// login as failed from the moment it is let through until it succeeds,
// so more than three at once for one user are slowed down (429).
func Login(ctx context.Context, addr, user string) (string, error) {
	body, err := json.Marshal(map[string]string{"user": user, "password": Password})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/v1/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("log in as %s: %w", user, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("log in as %s: %s: %s", user, resp.Status, bytes.TrimSpace(msg))
	}
	for _, c := range resp.Cookies() {
		if c.Name == auth.CookieName {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("log in as %s: the answer set no %s cookie", user, auth.CookieName)
}
